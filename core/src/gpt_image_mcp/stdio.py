"""The stdio transport: the MCP SDK's, plus an answer for every request line its JSON parser cannot take.

The SDK parses each line with pydantic's JSON parser, which refuses two things Python's `json` reads: a lone
UTF-16 surrogate escape (`"\\ud800"`, an emoji cut in half by a client) and nesting deeper than a couple of
hundred levels. Such a line is dropped without an answer, and the client waits for its request until it times
out. Here a dropped line is read again with `json`: lone surrogates become U+FFFD and the message goes on; a
message that still cannot be taken gets a JSON-RPC error for its id, and a line that is not JSON at all a parse
error (id null), as JSON-RPC asks.
"""

from __future__ import annotations

import json
import logging
import os
import re
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer
    from mcp.shared.message import SessionMessage

    from gpt_image_mcp.service import ImageService

logger = logging.getLogger(__name__)

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


async def run_stdio(server: MCPServer, service: ImageService, grace_seconds: float) -> None:
    """Serve over stdio until the client closes stdin, or SIGTERM/SIGINT: then calls in flight may finish (and
    their answers reach the client) for up to `grace_seconds`, and the process ends with status 0.

    The providers' clients are closed in this event loop, the one they were made in.
    """
    import signal

    import anyio

    from gpt_image_mcp.server import image_calls_in_flight

    async def stop_on_signal(group: anyio.abc.TaskGroup) -> None:
        try:
            with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
                async for received in signals:
                    busy = image_calls_in_flight()
                    logger.info("Stopping after %s (%d call(s) in flight)", signal.Signals(received).name, busy)
                    with anyio.move_on_after(grace_seconds):
                        while image_calls_in_flight():  # noqa: ASYNC110  (polled only while stopping)
                            await anyio.sleep(0.05)
                    with anyio.CancelScope(shield=True):
                        await service.aclose()
                    # The SDK reads stdin in a worker thread that no cancellation reaches: waiting for it would
                    # keep the process alive until the client writes or closes stdin. Every answer is written
                    # and flushed, the store synced, the clients closed: nothing is left to lose.
                    logging.shutdown()
                    os._exit(0)
        except NotImplementedError:  # no signal receivers on this platform (Windows): serve until stdin closes
            await anyio.sleep_forever()

    try:
        async with anyio.create_task_group() as group:

            async def serve() -> None:
                await serve_stdio(server)
                group.cancel_scope.cancel()  # the client left: stop waiting for signals

            group.start_soon(serve)
            group.start_soon(stop_on_signal, group)
    finally:
        with anyio.CancelScope(shield=True):
            await service.aclose()


async def serve_stdio(server: MCPServer) -> None:
    """`server.run_stdio_async()`, with `AnsweringReader` between the transport and the server."""
    from mcp.server.stdio import stdio_server

    # The SDK has no public way to serve a server over streams one passes in (run_stdio_async builds its own).
    lowlevel = server._lowlevel_server
    async with stdio_server() as (read_stream, write_stream):
        reader = AnsweringReader(read_stream, write_stream)
        await lowlevel.run(reader, write_stream, lowlevel.create_initialization_options())


class AnsweringReader:
    """The read side of a transport: messages pass through; a line the SDK could not parse is repaired, or
    answered with an error, instead of being dropped."""

    def __init__(self, inner: Any, write_stream: Any) -> None:
        self._inner = inner
        self._write = write_stream

    @property
    def last_context(self) -> Any:  # the SDK restores the sender's context variables from it
        return getattr(self._inner, "last_context", None)

    async def receive(self) -> SessionMessage | Exception:
        while True:
            item = await self._inner.receive()
            handled = await self._handle(item)
            if handled is not None:
                return handled

    def __aiter__(self) -> AnsweringReader:
        return self

    async def __anext__(self) -> SessionMessage | Exception:
        while True:
            item = await self._inner.__anext__()
            handled = await self._handle(item)
            if handled is not None:
                return handled

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def __aenter__(self) -> AnsweringReader:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        await self.aclose()

    async def _handle(self, item: SessionMessage | Exception) -> SessionMessage | Exception | None:
        """The item to pass on, or None when it was answered here."""
        line = _unparsed_line(item)
        if line is None:
            return item
        import mcp_types as types
        from mcp.shared.message import SessionMessage

        try:
            document = json.loads(line)
        except (ValueError, RecursionError):
            await self._answer(None, PARSE_ERROR, "Parse error: the message is not JSON")
            return None
        try:
            repaired = json.dumps(_replace_lone_surrogates(document), ensure_ascii=False)
            return SessionMessage(types.jsonrpc_message_adapter.validate_json(repaired, by_name=False))
        except (ValueError, RecursionError):  # pydantic's ValidationError is a ValueError
            logger.warning("Refusing a message the MCP SDK cannot parse (nested too deep or malformed)")
        request_id = document.get("id") if isinstance(document, dict) else None
        if isinstance(request_id, str | int) and not isinstance(request_id, bool):
            await self._answer(
                request_id, INVALID_REQUEST, "Invalid request: the message is malformed or nested too deeply"
            )
        return None

    async def _answer(self, request_id: str | int | None, code: int, message: str) -> None:
        import mcp_types as types
        from mcp.shared.message import SessionMessage

        error = types.JSONRPCError(jsonrpc="2.0", id=request_id, error=types.ErrorData(code=code, message=message))
        await self._write.send(SessionMessage(error))


def _unparsed_line(item: object) -> str | None:
    """The raw line of a transport item that is the SDK's failure to parse it as JSON, else None."""
    from pydantic import ValidationError

    if not isinstance(item, ValidationError):
        return None
    errors = item.errors()
    if errors and errors[0].get("type") == "json_invalid" and isinstance(errors[0].get("input"), str):
        return errors[0]["input"]
    return None


def _replace_lone_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_replace_lone_surrogates(item) for item in value]
    if isinstance(value, dict):
        return {_replace_lone_surrogates(key): _replace_lone_surrogates(item) for key, item in value.items()}
    return value
