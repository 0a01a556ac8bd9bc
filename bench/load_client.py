"""A lean MCP client for the load runs of bench/run.py: JSON-RPC over Streamable HTTP, protocol 2025-11-25.

The SDK's `Client` spends milliseconds of CPU per call in the client process: pydantic models for every message,
its SSE reader, and a jsonschema validation of `structuredContent` against the tool's output schema. In the load
runs the client processes share the machine's cores with the server, so that CPU lowers the server's figures, and
more so for a server whose tools declare large output schemas. This client sends what the protocol requires and
nothing more — `initialize`, `notifications/initialized`, then `tools/call` requests — and reads each answer
whether it comes as `application/json` or as an SSE stream. It does not validate results against any schema.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

import httpx2

PROTOCOL_VERSION = "2025-11-25"
CLIENT_INFO = {"name": "bench-load", "version": "0"}


class LoadClientError(RuntimeError):
    """A request failed: HTTP status, JSON-RPC error, `isError` result, or no answer. The load run stops."""


def http_client(sessions: int, transport: httpx2.AsyncBaseTransport | None = None) -> httpx2.AsyncClient:
    """One client per process, with a connection for each of its sessions (calls on a session are sequential)."""
    limits = httpx2.Limits(max_connections=sessions, max_keepalive_connections=sessions)
    return httpx2.AsyncClient(limits=limits, timeout=httpx2.Timeout(120.0), transport=transport)


def answer_in_sse(text: str, request_id: int) -> dict[str, Any] | None:
    """The JSON-RPC answer to `request_id` in an SSE stream; messages before it (progress notifications, the
    server's own requests, whose ids are the server's) are skipped."""
    for event in text.replace("\r\n", "\n").replace("\r", "\n").split("\n\n"):
        data = "\n".join(line[5:].removeprefix(" ") for line in event.split("\n") if line.startswith("data:"))
        if not data:
            continue
        message = json.loads(data)
        if isinstance(message, dict) and message.get("id") == request_id and "method" not in message:
            return message
    return None


class LoadSession:
    """One MCP session: the handshake, then requests one at a time."""

    def __init__(self, http: httpx2.AsyncClient, url: str) -> None:
        self.http = http
        self.url = url
        self.headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
        self.next_id = 0

    @classmethod
    async def open(cls, http: httpx2.AsyncClient, url: str) -> LoadSession:
        session = cls(http, url)
        params = {"protocolVersion": PROTOCOL_VERSION, "capabilities": {}, "clientInfo": CLIENT_INFO}
        request_id = session.take_id()
        response = await session.post({"method": "initialize", "params": params, "id": request_id})
        session.answer("initialize", response, request_id)
        session_id = response.headers.get("mcp-session-id")
        if not session_id:
            raise LoadClientError("the answer to initialize has no Mcp-Session-Id header")
        session.headers |= {"Mcp-Session-Id": session_id, "MCP-Protocol-Version": PROTOCOL_VERSION}
        response = await session.post({"method": "notifications/initialized"})
        if response.status_code != 202:
            raise LoadClientError(f"notifications/initialized: HTTP {response.status_code}: {response.text[:500]}")
        return session

    def take_id(self) -> int:
        self.next_id += 1
        return self.next_id

    async def post(self, message: dict[str, Any]) -> httpx2.Response:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        return await self.http.post(self.url, content=body, headers=self.headers)

    def answer(self, method: str, response: httpx2.Response, request_id: int) -> dict[str, Any]:
        """The `result` of the answer to `request_id`, from a JSON or an SSE body."""
        if response.status_code != 200:
            raise LoadClientError(f"{method}: HTTP {response.status_code}: {response.text[:500]}")
        content_type = response.headers.get("content-type", "")
        if content_type.startswith("text/event-stream"):
            message = answer_in_sse(response.text, request_id)
        elif content_type.startswith("application/json"):
            message = response.json()
        else:
            raise LoadClientError(f"{method}: unexpected content type {content_type!r}")
        if not isinstance(message, dict) or message.get("id") != request_id:
            raise LoadClientError(f"{method}: no answer to request {request_id} in: {response.text[:500]}")
        if "error" in message:
            raise LoadClientError(f"{method}: JSON-RPC error {json.dumps(message['error'])[:500]}")
        result = message.get("result")
        if not isinstance(result, dict):
            raise LoadClientError(f"{method}: the answer has no result object: {response.text[:500]}")
        return result

    async def request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        request_id = self.take_id()
        response = await self.post({"method": method, "params": params, "id": request_id})
        return self.answer(method, response, request_id)

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """`tools/call`; a result with `isError` is a failure, like a JSON-RPC error."""
        result = await self.request("tools/call", {"name": name, "arguments": arguments})
        if result.get("isError"):
            blocks = result.get("content") or []
            text = " ".join(str(block.get("text", "")) for block in blocks if isinstance(block, dict))
            raise LoadClientError(f"{name} failed (isError): {text[:500]}")
        return result

    async def close(self) -> None:
        """End the session on the server (DELETE), as the SDK's client does; a failure here is ignored."""
        if "Mcp-Session-Id" in self.headers:
            with contextlib.suppress(httpx2.HTTPError):
                await self.http.delete(self.url, headers=self.headers)
