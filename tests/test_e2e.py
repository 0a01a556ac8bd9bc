"""End to end: the console script as a subprocess, driven by the SDK client over stdio and over HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from mcp import Client, StdioServerParameters

from tests.helpers import decode_image

pytestmark = pytest.mark.anyio
SCRIPT = str(Path(sys.executable).parent / "gpt-image-mcp")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_stdio_generate(mode: str, tmp_path: Path) -> None:
    params = StdioServerParameters(command=SCRIPT, args=[], env={**os.environ, "LOG_LEVEL": "debug"}, cwd=tmp_path)
    async with Client(params, mode=mode) as client:
        tools = await client.list_tools()
        result = await client.call_tool("image_generate", {"prompt": "a lighthouse", "size": "1024x1024"})
    assert len(tools.tools) == 5
    assert not result.is_error
    assert decode_image(result.content[1].data).size == (1024, 1024)


@pytest.fixture
def http_server(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    log = tmp_path / "server.log"  # a file, not a pipe: nobody drains a pipe while the server runs
    process = subprocess.Popen(
        [SCRIPT, "serve", "--transport", "http", "--port", str(port)],
        cwd=tmp_path,
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx2.get(f"{base}/health/live", timeout=1).status_code == 200:
                break
        except httpx2.TransportError:
            time.sleep(0.1)
    else:
        process.kill()
        pytest.fail(f"server did not start: {log.read_text()}")
    yield base
    process.terminate()
    assert process.wait(timeout=15) == 0
    assert "Traceback" not in log.read_text(), log.read_text()


def test_http_health_routes(http_server: str) -> None:
    assert httpx2.get(f"{http_server}/health/live").json() == {"status": "ok"}
    ready = httpx2.get(f"{http_server}/health/ready")
    assert ready.status_code == 200 and ready.json()["provider"] == "offline"


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_http_tool_call(http_server: str, mode: str) -> None:
    async with Client(f"{http_server}/mcp", mode=mode) as client:
        result = await client.call_tool("image_generate", {"prompt": "a lighthouse", "n": 2, "size": "1024x1536"})
    assert not result.is_error
    assert [decode_image(block.data).size for block in result.content[1:]] == [(1024, 1536)] * 2
