"""Cancellation: when the client gives up, the upstream request is aborted and nothing goes on."""

from __future__ import annotations

import socket
import threading
import time

import anyio
import httpx2
import pytest
from gpt_image_mcp import GenerateRequest, ImageProvider, ImageResult, Progress, hookimpl
from gpt_image_mcp.server import build_server
from gpt_image_mcp.service import ImageService
from gpt_image_mcp.settings import load_settings
from mcp import Client

pytestmark = pytest.mark.anyio


class SilentUpstream:
    """A TCP server that accepts one connection, never answers, and records when the peer hangs up."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        self.connected = threading.Event()
        self.closed = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        connection, _ = self.sock.accept()
        self.connected.set()
        connection.settimeout(30)
        try:
            while connection.recv(65536):
                pass
        except OSError:
            pass
        self.closed.set()
        connection.close()


class Hanging(ImageProvider):
    name = "hanging"

    def __init__(self, port: int) -> None:
        self.port = port
        self.finished = False

    async def generate(self, request: GenerateRequest, progress: Progress) -> ImageResult:
        async with httpx2.AsyncClient(timeout=60) as client:
            await client.post(f"http://127.0.0.1:{self.port}/v1/images/generations", json={"prompt": "x"})
        self.finished = True  # never reached: the request is cancelled
        raise AssertionError("unreachable")


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_client_cancellation_aborts_the_upstream_request(mode: str) -> None:
    upstream = SilentUpstream()
    provider = Hanging(upstream.port)

    class Plugin:
        @hookimpl
        def register_providers(self, register):
            register(provider)

    service = ImageService.create(load_settings(provider="hanging"), extra_plugins=[("t", Plugin())])
    async with Client(build_server(service), mode=mode) as client:
        with anyio.move_on_after(10) as scope:
            async with anyio.create_task_group() as group:

                async def call() -> None:
                    await client.call_tool("image_generate", {"prompt": "fox"})

                group.start_soon(call)
                await anyio.to_thread.run_sync(upstream.connected.wait, 10)
                group.cancel_scope.cancel()
        assert not scope.cancelled_caught
    start = time.monotonic()
    assert await anyio.to_thread.run_sync(upstream.closed.wait, 10), "upstream connection was left open"
    assert time.monotonic() - start < 5
    assert not provider.finished
    assert service.store.recent() == []


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_cancellation_over_http(mode: str) -> None:
    from tests.http_support import serve_app

    upstream = SilentUpstream()
    provider = Hanging(upstream.port)

    class Plugin:
        @hookimpl
        def register_providers(self, register):
            register(provider)

    with serve_app(provider="hanging", extra_plugins=[("t", Plugin())]) as app:
        async with Client(app.mcp, mode=mode) as client, anyio.create_task_group() as group:

            async def call() -> None:
                await client.call_tool("image_generate", {"prompt": "fox"})

            group.start_soon(call)
            assert await anyio.to_thread.run_sync(upstream.connected.wait, 10)
            group.cancel_scope.cancel()
        assert await anyio.to_thread.run_sync(upstream.closed.wait, 10), "upstream connection was left open"
        assert not provider.finished
