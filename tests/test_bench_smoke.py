"""The benchmark harness (bench/run.py) runs end to end: fake upstream, console script, bare baseline; and the
lean load client of its concurrency runs (bench/load_client.py) speaks the protocol, without network.

Only that it works and produces its table is checked; no timing is judged here (see docs/performance.md).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import httpx2
import pytest

ROOT = Path(__file__).resolve().parent.parent


def _load_client_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_load_client", ROOT / "bench" / "load_client.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


load_client = _load_client_module()
URL = "http://mcp.test/mcp"


def _sse(*messages: dict) -> str:
    return "".join(f"event: message\r\ndata: {json.dumps(message)}\r\n\r\n" for message in messages)


class FakeServer:
    """Answers like a Streamable HTTP server; `answer(request)` gives the body of each tools/call."""

    def __init__(self, answer) -> None:
        self.answer = answer
        self.seen: list[httpx2.Request] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.seen.append(request)
        if request.method == "DELETE":
            return httpx2.Response(200)
        message = json.loads(request.content)
        if message["method"] == "initialize":
            result = {"protocolVersion": "2025-11-25", "capabilities": {}, "serverInfo": {"name": "t", "version": "0"}}
            return httpx2.Response(
                200,
                text=_sse({"jsonrpc": "2.0", "id": message["id"], "result": result}),
                headers={"content-type": "text/event-stream", "mcp-session-id": "s-1"},
            )
        if message["method"] == "notifications/initialized":
            return httpx2.Response(202)
        return self.answer(message)


async def _call(server: FakeServer) -> dict:
    async with load_client.http_client(2, transport=httpx2.MockTransport(server)) as http:
        session = await load_client.LoadSession.open(http, URL)
        try:
            return await session.call_tool("image_generate", {"prompt": "x"})
        finally:
            await session.close()


def test_answer_in_sse_skips_progress_and_server_requests() -> None:
    text = _sse(
        {"jsonrpc": "2.0", "method": "notifications/progress", "params": {"progressToken": 2, "progress": 1}},
        {"jsonrpc": "2.0", "id": 2, "method": "elicitation/create", "params": {}},
        {"jsonrpc": "2.0", "id": 2, "result": {"content": []}},
    )

    assert load_client.answer_in_sse(text, 2) == {"jsonrpc": "2.0", "id": 2, "result": {"content": []}}
    assert load_client.answer_in_sse(text, 3) is None
    assert load_client.answer_in_sse('data: {"id": 5,\ndata:  "result": {}}\n\n', 5) == {"id": 5, "result": {}}


@pytest.mark.anyio
async def test_load_session_handshake_and_answers_as_sse_or_json() -> None:
    def answer(message: dict) -> httpx2.Response:
        progress = {"jsonrpc": "2.0", "method": "notifications/progress", "params": {"progress": 1}}
        result = {"content": [{"type": "text", "text": "ok"}], "isError": False}
        return httpx2.Response(
            200,
            text=_sse(progress, {"jsonrpc": "2.0", "id": message["id"], "result": result}),
            headers={"content-type": "text/event-stream"},
        )

    server = FakeServer(answer)
    assert (await _call(server))["content"][0]["text"] == "ok"
    initialize, initialized, call, delete = server.seen
    assert json.loads(initialize.content)["params"]["protocolVersion"] == "2025-11-25"
    assert "mcp-session-id" not in initialize.headers
    assert json.loads(initialized.content) == {"jsonrpc": "2.0", "method": "notifications/initialized"}
    for request in (initialized, call, delete):
        assert request.headers["mcp-session-id"] == "s-1"
        assert request.headers["mcp-protocol-version"] == "2025-11-25"
    assert call.headers["accept"] == "application/json, text/event-stream"
    assert json.loads(call.content)["params"] == {"name": "image_generate", "arguments": {"prompt": "x"}}
    assert delete.method == "DELETE"

    json_server = FakeServer(
        lambda message: httpx2.Response(200, json={"jsonrpc": "2.0", "id": message["id"], "result": {"content": []}})
    )
    assert await _call(json_server) == {"content": []}


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"error": {"code": -32602, "message": "bad size"}}, "JSON-RPC error .*bad size"),
        ({"result": {"content": [{"type": "text", "text": "upstream 500"}], "isError": True}}, "isError.*upstream 500"),
        ({"result": {"content": []}, "id": 99}, "no answer to request 2"),
    ],
)
async def test_load_session_failed_call_raises(body: dict, expected: str) -> None:
    server = FakeServer(lambda message: httpx2.Response(200, json={"jsonrpc": "2.0", "id": message["id"], **body}))

    with pytest.raises(load_client.LoadClientError, match=expected):
        await _call(server)


@pytest.mark.slow
def test_bench_smoke_run_produces_the_table(tmp_path: Path) -> None:
    output = tmp_path / "bench.md"
    raw = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--smoke", "--output", str(output), "--json", str(raw)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=240,
    )

    assert done.returncode == 0, done.stderr[-4000:]
    report = output.read_text(encoding="utf-8")
    assert "| metric | gpt-image-mcp | bare baseline | ratio | target | result |" in report
    assert "| stdio `image_generate` p50 (0 ms upstream) |" in report
    assert "| stdio server CPU per call |" in report
    assert "| Forwarding floor, stdio: CPU per call of `bare_server.py --forward`" in report
    assert "| Heavy SDKs imported at start-up" in report
    assert "Errors:" not in report
    assert report in done.stdout
    assert '"ours.stdio_p50_ms"' in raw.read_text(encoding="utf-8")
