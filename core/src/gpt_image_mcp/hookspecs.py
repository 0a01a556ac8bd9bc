"""The plugin contract: two registration hooks. Everything else a plugin offers is declared data.

A plugin is a module with functions marked `@hookimpl`, listed as an entry point in the group
`gpt_image_mcp`. Each hook receives a `register` callable; call it once per object you contribute.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from gpt_image_mcp.provider import ImageProvider
    from gpt_image_mcp.sink import ImageSink

PROJECT_NAME = "gpt_image_mcp"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def register_providers(register: Callable[[ImageProvider], None]) -> None:
    """Register image providers: call `register(provider)` for each `ImageProvider` instance."""


@hookspec
def register_sinks(register: Callable[[ImageSink], None]) -> None:
    """Register output sinks: call `register(sink)` for each `ImageSink` instance."""
