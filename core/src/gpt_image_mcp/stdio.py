"""The stdio transport: the MCP SDK's, plus an answer for every request line, and a graceful stop on signals.

The SDK parses each line with pydantic's JSON parser, which refuses two things Python's `json` reads: a lone
UTF-16 surrogate escape (`"\\ud800"`, an emoji cut in half by a client) and nesting deeper than a couple of
hundred levels. Such a line is dropped without an answer, and the client waits for its request until it times
out. Here a dropped line is read again with `json`: lone surrogates become U+FFFD and the message goes on; a
message that still cannot be taken gets a JSON-RPC error for its id, and a line that is not JSON at all a parse
error (id null), as JSON-RPC asks. Blank lines are skipped, as the SDK skips them.

On SIGTERM/SIGINT new requests are refused, the requests in flight may finish and have their answers written
for up to SHUTDOWN_GRACE_SECONDS, and the process ends with status 0.
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer
    from mcp.shared.message import SessionMessage

    from gpt_image_mcp.service import ImageService

logger = logging.getLogger(__name__)

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
#: JSON-RPC error of a request that arrives while the server is stopping (implementation-defined range).
SHUTTING_DOWN = -32003
#: After the last answer was handed over, how long its line may take to be written out.
FLUSH_SECONDS = 5.0
_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


@dataclass
class Exchange:
    """The requests of the connection that have no answer yet, and whether the server is stopping."""

    pending: set[str | int] = field(default_factory=set)
    stopping: bool = False
    #: The transport's own write stream, to see when its writer has written out the last answer.
    transport_writer: Any = None


async def run_stdio(server: MCPServer, service: ImageService, grace_seconds: float) -> None:
    """Serve over stdio until the client closes stdin, or until SIGTERM/SIGINT (see the module docstring).

    The providers' clients are closed in this event loop, the one they were made in.
    """
    import signal

    import anyio

    exchange = Exchange()

    async def stop_on_signal() -> None:
        try:
            with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
                async for received in signals:
                    exchange.stopping = True
                    busy = len(exchange.pending)
                    logger.info("Stopping after %s (%d request(s) in flight)", signal.Signals(received).name, busy)
                    with anyio.move_on_after(grace_seconds):
                        while exchange.pending:  # noqa: ASYNC110  (polled only while stopping)
                            await anyio.sleep(0.02)
                    writer = exchange.transport_writer
                    with anyio.move_on_after(FLUSH_SECONDS):
                        while writer is not None and not _writer_idle(writer):  # noqa: ASYNC110
                            await anyio.sleep(0.02)
                    with anyio.CancelScope(shield=True):
                        await service.aclose()
                    # The SDK reads stdin in a worker thread that no cancellation reaches: waiting for it would
                    # keep the process alive until the client writes or closes stdin. Every answer is written,
                    # the store synced, the clients closed: nothing is left to lose.
                    logging.shutdown()
                    os._exit(0)
        except NotImplementedError:  # no signal receivers on this platform (Windows): serve until stdin closes
            await anyio.sleep_forever()

    try:
        async with anyio.create_task_group() as group:

            async def serve() -> None:
                await serve_stdio(server, exchange)
                group.cancel_scope.cancel()  # the client left: stop waiting for signals

            group.start_soon(serve)
            group.start_soon(stop_on_signal)
    finally:
        with anyio.CancelScope(shield=True):
            await service.aclose()


async def serve_stdio(server: MCPServer, exchange: Exchange | None = None) -> None:
    """`server.run_stdio_async()`, with `AnsweringReader` and `TrackingWriter` around the transport's streams."""
    from mcp.server.stdio import stdio_server

    exchange = exchange or Exchange()
    # The SDK has no public way to serve a server over streams one passes in (run_stdio_async builds its own).
    lowlevel = server._lowlevel_server
    async with stdio_server() as (read_stream, write_stream):
        exchange.transport_writer = write_stream
        writer = TrackingWriter(write_stream, exchange)
        reader = AnsweringReader(read_stream, writer, exchange)
        await lowlevel.run(reader, writer, lowlevel.create_initialization_options())


class TrackingWriter:
    """The write side: marks a request answered once its answer is handed to the transport."""

    def __init__(self, inner: Any, exchange: Exchange) -> None:
        self._inner = inner
        self._exchange = exchange

    async def send(self, item: SessionMessage) -> None:
        await self._inner.send(item)
        message = item.message
        if getattr(message, "method", None) is None and getattr(message, "id", None) is not None:
            self._exchange.pending.discard(message.id)  # a response or an error to a client's request

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def __aenter__(self) -> TrackingWriter:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        await self.aclose()


class AnsweringReader:
    """The read side: messages pass through (and requests are counted in flight); a line the SDK could not parse
    is repaired, or answered with an error, instead of being dropped; while stopping, requests are refused."""

    def __init__(self, inner: Any, writer: Any, exchange: Exchange | None = None) -> None:
        self._inner = inner
        self._write = writer
        self._exchange = exchange or Exchange()

    @property
    def last_context(self) -> Any:  # the SDK restores the sender's context variables from it
        return getattr(self._inner, "last_context", None)

    async def receive(self) -> SessionMessage | Exception:
        while True:
            handled = await self._handle(await self._inner.receive())
            if handled is not None:
                return handled

    def __aiter__(self) -> AnsweringReader:
        return self

    async def __anext__(self) -> SessionMessage | Exception:
        while True:
            handled = await self._handle(await self._inner.__anext__())
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
        """The item to pass on, or None when it was answered (or skipped) here."""
        line = _unparsed_line(item)
        message = item if line is None else await self._repaired(line)
        if isinstance(message, Exception):
            request_id = _invalid_request_id(message)
            if request_id is None:
                return message  # nothing to answer (a notification, no id to answer to): the SDK logs it
            await self._answer(request_id, INVALID_REQUEST, "Invalid request: not a JSON-RPC 2.0 request")
            return None
        if message is None:
            return None
        cancelled = _cancelled_request_id(message)
        if cancelled is not None:  # a cancelled request is never answered (the spec forbids it): not in flight
            self._exchange.pending.discard(cancelled)
            self._exchange.pending.discard(str(cancelled))
        request_id = _request_id(message)
        if request_id is not None:
            if self._exchange.stopping:
                await self._answer(request_id, SHUTTING_DOWN, "The server is shutting down: send this request again")
                return None
            self._exchange.pending.add(request_id)
        return message

    async def _repaired(self, line: str) -> SessionMessage | None:
        import mcp_types as types
        from mcp.shared.message import SessionMessage

        if not line.strip():
            return None  # a blank line is no message (clients and proxies send them between messages)
        try:
            document = json.loads(line)
        except RecursionError:  # deeper than Python's JSON reader goes: answer its request all the same
            await self._answer(
                _top_level_id(line), INVALID_REQUEST, "Invalid request: the message is nested too deeply"
            )
            return None
        except ValueError:
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


def _request_id(message: SessionMessage) -> str | int | None:
    """The id of a client's request (None for notifications and for answers to the server's own requests)."""
    inner = message.message
    if getattr(inner, "method", None) is None:
        return None
    request_id = getattr(inner, "id", None)
    return request_id if isinstance(request_id, str | int) else None


_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\]:,]|-?\d+')
#: Lines longer than this are not scanned for their id (the scan is Python, character class by class).
MAX_SCANNED_CHARS = 8 * 1024 * 1024


def _top_level_id(line: str) -> str | int | None:
    """The `id` member of the JSON object in `line`, found without recursion (for documents too deep to parse)."""
    if len(line) > MAX_SCANNED_CHARS:
        return None
    depth, key, previous = 0, None, None
    for match in _TOKEN.finditer(line):
        part = match.group()
        if part in ("{", "["):
            depth += 1
        elif part in ("}", "]"):
            depth -= 1
        elif depth == 1 and previous == ":" and key == "id":
            if part.startswith('"'):
                return str(json.loads(part))
            return int(part) if part not in (",", ":") else None
        elif depth == 1 and part.startswith('"') and previous in ("{", ","):
            key = json.loads(part)
        previous = part
    return None


def _cancelled_request_id(message: SessionMessage) -> str | int | None:
    inner = message.message
    if getattr(inner, "method", None) != "notifications/cancelled":
        return None
    params = getattr(inner, "params", None) or {}
    request_id = params.get("requestId") if isinstance(params, dict) else getattr(params, "request_id", None)
    if isinstance(request_id, str) and request_id.lstrip("-").isdigit():
        return int(request_id)  # the SDK matches "5" and 5 alike
    return request_id if isinstance(request_id, str | int) else None


def _invalid_request_id(error: Exception) -> str | int | None:
    """The id of a JSON object the SDK refused as a message (valid JSON, but not JSON-RPC 2.0), if it has one."""
    from pydantic import ValidationError

    if not isinstance(error, ValidationError):
        return None
    for detail in error.errors():
        document = detail.get("input")
        if isinstance(document, dict) and "method" in document:
            request_id = document.get("id")
            if isinstance(request_id, str | int) and not isinstance(request_id, bool):
                return request_id
    return None


def _writer_idle(write_stream: Any) -> bool:
    """Whether the transport's writer waits for the next message, i.e. has written out every answer handed to it.
    (The SDK's context stream wraps an anyio memory stream; without those statistics, assume a moment is enough.)"""
    statistics = getattr(getattr(write_stream, "_inner", None), "statistics", None)
    if statistics is None:
        return True
    return bool(statistics().tasks_waiting_receive)


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
