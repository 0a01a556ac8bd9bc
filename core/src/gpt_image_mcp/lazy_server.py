"""`LazyMCPServer`: an `MCPServer` that leaves the start-up work `initialize` does not need for later.

- **Tools built on first use.** The SDK's `MCPServer.add_tool` (and so `@tool()`) builds a tool at once: an
  argument model, its JSON schema and an output schema per function — about 45 ms for gpt-image-mcp's five tools
  with 13-26 parameters, a large part of a cold start that only has to answer `initialize`. Here `add_tool`
  records the function, and the tools are built the first time anything reaches the SDK's tool manager.
  The seam is `MCPServer._tool_manager`: every tool access of the SDK goes through that attribute
  (`tools/list`, `tools/call`, the input-schema lookup for HTTP `Mcp-Param` headers, `add_tool`,
  `remove_tool`), and here it is a property that builds the recorded tools before handing the manager out.
  Building runs once, under a lock: concurrent first requests on the event loop cannot interleave with it (it
  does not await) and threads wait for it; all of them see every tool. A tool that fails to build raises at that
  first access, as it would have raised at `add_tool`.
- **No second logging set-up.** `MCPServer.__init__` calls the SDK's `configure_logging`, which imports rich
  (~15 ms) to hand a `RichHandler` to `logging.basicConfig` — and `basicConfig` does nothing when the root
  logger has handlers already, as it has once `gpt_image_mcp.logs.configure_logging` ran. In that case the call
  is skipped; without root handlers it runs as before.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver import server as sdk_server
from mcp.server.mcpserver.tools import ToolManager
from mcp_types import Icon, ToolAnnotations

PendingTool = tuple[Callable[..., Any], dict[str, Any]]

_sdk_logging_lock = threading.Lock()


def _root_logging_configured() -> bool:
    return bool(logging.getLogger().handlers)


@contextmanager
def _without_sdk_logging_setup() -> Iterator[None]:
    """Skip the SDK's `configure_logging` while the root logger has handlers (it would change nothing)."""
    if not _root_logging_configured() or not callable(getattr(sdk_server, "configure_logging", None)):
        yield
        return
    with _sdk_logging_lock:  # one swap at a time, so the original is always the one put back
        original = sdk_server.configure_logging
        sdk_server.configure_logging = _skip_sdk_logging_setup
        try:
            yield
        finally:
            sdk_server.configure_logging = original


def _skip_sdk_logging_setup(level: str = "INFO") -> None:
    """Stands in for the SDK's `configure_logging`: `logging.basicConfig` would leave configured logging alone."""


class LazyMCPServer(MCPServer):
    """An `MCPServer` whose tools are built on the first tool request (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Before the SDK's __init__: it assigns the tool manager and may add tools (extensions).
        self._tools_lock = threading.Lock()
        self._pending_tools: list[PendingTool] | None = []
        with _without_sdk_logging_setup():
            super().__init__(*args, **kwargs)

    @property  # type: ignore[override]
    def _tool_manager(self) -> ToolManager:
        """The SDK's tool manager, with every recorded tool built."""
        if self._pending_tools is not None:
            self.build_tools()
        return self._lazy_tool_manager

    @_tool_manager.setter
    def _tool_manager(self, manager: ToolManager) -> None:
        self._lazy_tool_manager = manager

    @property
    def tools_built(self) -> bool:
        """Whether the recorded tools have been built (by the first tool request, or `build_tools`)."""
        return self._pending_tools is None

    def build_tools(self) -> None:
        """Build the recorded tools now (idempotent, thread-safe); later `add_tool` calls build at once."""
        with self._tools_lock:
            pending = self._pending_tools
            if pending is None:  # built already, perhaps by another thread while this one waited
                return
            while pending:  # one at a time: after a failure the rest are still recorded, none twice
                fn, options = pending[0]
                self._lazy_tool_manager.add_tool(fn, **options)
                pending.pop(0)
            self._pending_tools = None

    def add_tool(
        self,
        fn: Callable[..., Any],
        name: str | None = None,
        title: str | None = None,
        description: str | None = None,
        annotations: ToolAnnotations | None = None,
        icons: list[Icon] | None = None,
        meta: dict[str, Any] | None = None,
        structured_output: bool | None = None,
    ) -> None:
        """Record the tool until the tools are built; afterwards add it as the SDK does."""
        options: dict[str, Any] = {
            "name": name,
            "title": title,
            "description": description,
            "annotations": annotations,
            "icons": icons,
            "meta": meta,
            "structured_output": structured_output,
        }
        with self._tools_lock:
            if self._pending_tools is not None:
                self._pending_tools.append((fn, options))
                return
        super().add_tool(fn, **options)
