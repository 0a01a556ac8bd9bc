"""Graceful shutdown of `gpt-image-mcp serve --transport http` on SIGTERM / SIGINT."""

from __future__ import annotations

import contextlib
import signal
import time
from pathlib import Path

import anyio
import httpx2
import pytest
from mcp import Client

from tests.http_support import ServerProcess, install_throwaway_plugin, sample, scrape, start_server_process

pytestmark = pytest.mark.anyio


def slow_server(tmp_path: Path, slow_seconds: float, grace_seconds: int) -> ServerProcess:
    env = {
        "PROVIDER": "slow",
        "SLOW_SECONDS": str(slow_seconds),
        "SHUTDOWN_GRACE_SECONDS": str(grace_seconds),
        "LOG_LEVEL": "info",
    }
    return start_server_process(env, tmp_path, plugin_path=install_throwaway_plugin(tmp_path / "plugins"))


async def wait_in_flight(base: str, tool: str = "image_generate") -> None:
    with anyio.fail_after(15):
        while True:
            with httpx2.Client() as http:
                if sample(scrape(http, base), "gpt_image_mcp_tool_calls_in_flight", tool=tool) >= 1:
                    return
            await anyio.sleep(0.05)


@pytest.mark.parametrize(
    ("sig", "mode"), [(signal.SIGTERM, "auto"), (signal.SIGINT, "legacy")], ids=["SIGTERM", "SIGINT"]
)
async def test_call_in_flight_finishes_then_exit_0(tmp_path: Path, sig: signal.Signals, mode: str) -> None:
    server = slow_server(tmp_path, slow_seconds=2, grace_seconds=20)
    results: list[object] = []

    async def slow_call() -> None:
        async with Client(server.mcp, mode=mode) as client:
            await client.list_tools()  # known before the call: the client asks for nothing after the result
            results.append(await client.call_tool("image_generate", {"prompt": "slowly", "size": "1024x1024"}))

    try:
        async with anyio.create_task_group() as group:
            group.start_soon(slow_call)
            await wait_in_flight(server.base)
            sent = time.monotonic()
            server.process.send_signal(sig)
            # While the call is still running, new connections are refused.
            refused = False
            with anyio.move_on_after(1.5):
                while not refused:
                    try:
                        async with httpx2.AsyncClient() as http:
                            await http.get(f"{server.base}/health/live", timeout=1)
                    except httpx2.TransportError:
                        refused = True
                    else:
                        await anyio.sleep(0.05)
            assert refused and not results
        status, stderr = server.stop(None, timeout=30)
        took = time.monotonic() - sent
    finally:
        if server.process.poll() is None:
            server.process.kill()
    assert status == 0, stderr
    assert "Traceback" not in stderr, stderr
    assert len(results) == 1
    result = results[0]
    assert not result.is_error, result  # type: ignore[attr-defined]
    assert result.structured_content["provider"] == "slow"  # type: ignore[attr-defined]
    assert "slow provider: call finished" in stderr
    assert took < 10  # the 2 s call, not the 20 s grace period


async def test_call_longer_than_the_grace_period_is_cancelled(tmp_path: Path) -> None:
    server = slow_server(tmp_path, slow_seconds=60, grace_seconds=1)
    errors: list[BaseException] = []

    async def slow_call() -> None:
        try:
            async with Client(server.mcp) as client:
                await client.call_tool("image_generate", {"prompt": "never done", "size": "1024x1024"})
        except Exception as exc:  # the connection is cut: any client-side error is fine here
            errors.append(exc)

    try:
        async with anyio.create_task_group() as group:
            group.start_soon(slow_call)
            await wait_in_flight(server.base)
            sent = time.monotonic()
            status, stderr = server.stop(signal.SIGTERM, timeout=30)
            took = time.monotonic() - sent
            group.cancel_scope.cancel()
    finally:
        if server.process.poll() is None:
            server.process.kill()
    assert status == 0, stderr
    assert took < 10
    assert "slow provider: call finished" not in stderr
    assert "graceful shutdown" in stderr  # uvicorn reports the tasks it cancelled


async def test_open_idle_session_does_not_hold_shutdown(tmp_path: Path) -> None:
    server = start_server_process({"PROVIDER": "offline", "SHUTDOWN_GRACE_SECONDS": "20"}, tmp_path)
    outcome: list[tuple[int, str, float]] = []
    with contextlib.suppress(Exception):  # the client's closing DELETE finds the server gone
        async with Client(server.mcp, mode="legacy") as client:  # a handshake-era session holds a GET stream
            await client.call_tool("provider_list", {})
            await anyio.sleep(0.3)
            sent = time.monotonic()
            status, stderr = await anyio.to_thread.run_sync(server.stop)
            outcome.append((status, stderr, time.monotonic() - sent))
    if server.process.poll() is None:
        server.process.kill()
    status, stderr, took = outcome[0]
    assert status == 0 and "Traceback" not in stderr, stderr
    assert took < 5  # not the 20 s grace period
