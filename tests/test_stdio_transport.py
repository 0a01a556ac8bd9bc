"""The console script over raw stdio: every request line gets an answer, even one the SDK's parser refuses."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

SCRIPT = str(Path(sys.executable).parent / "gpt-image-mcp")


class RawStdio:
    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.process = process

    def send(self, message: dict[str, Any] | str) -> None:
        line = message if isinstance(message, str) else json.dumps(message)
        assert self.process.stdin is not None
        self.process.stdin.write(line.encode() + b"\n")
        self.process.stdin.flush()

    def receive(self, timeout: float = 20) -> dict[str, Any]:
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        assert ready, "no answer"
        return json.loads(self.process.stdout.readline())


def start(tmp_path: Path, **env: str) -> RawStdio:
    """The console script over stdio, initialized (handshake era)."""
    env = {"PROVIDER": "offline", "IMAGE_STORE_DIR": str(tmp_path / "store"), "LOG_LEVEL": "warning"} | env
    process = subprocess.Popen(
        [SCRIPT],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, **env},
        cwd=tmp_path,
    )
    raw = RawStdio(process)
    hello = {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}
    raw.send({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": hello})
    assert raw.receive()["result"]["serverInfo"]["name"] == "gpt-image-mcp"
    raw.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
    return raw


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RawStdio]:
    raw = start(tmp_path)
    process = raw.process
    yield raw
    assert process.stdin is not None
    process.stdin.close()
    assert process.wait(20) == 0
    assert process.stderr is not None
    assert "Traceback" not in process.stderr.read().decode()


def tool_call_line(request_id: int, arguments: str) -> str:
    return (
        f'{{"jsonrpc":"2.0","id":{request_id},"method":"tools/call",'
        f'"params":{{"name":"image_generate","arguments":{arguments}}}}}'
    )


def test_a_lone_surrogate_in_an_argument_is_replaced_and_the_call_runs(server: RawStdio) -> None:
    server.send(tool_call_line(1, '{"prompt":"a \\ud83d fox","size":"1024x1024","output_format":"jpeg"}'))
    answer = server.receive()
    assert answer["id"] == 1 and answer["result"]["isError"] is False
    assert answer["result"]["structuredContent"]["images"][0]["width"] == 1024


def test_a_message_nested_too_deep_gets_an_error_for_its_id(server: RawStdio) -> None:
    options = '{"a":' * 300 + "1" + "}" * 300
    server.send(tool_call_line(2, f'{{"prompt":"x","options":{options}}}'))
    assert server.receive() == {
        "jsonrpc": "2.0",
        "id": 2,
        "error": {"code": -32600, "message": "Invalid request: the message is malformed or nested too deeply"},
    }


def test_a_message_deeper_than_python_reads_still_gets_an_error_for_its_id(server: RawStdio) -> None:
    options = '{"a":' * 5000 + "1" + "}" * 5000
    server.send(tool_call_line(14, f'{{"prompt":"x","options":{options}}}'))
    answer = server.receive()
    assert answer["id"] == 14 and answer["error"]["code"] == -32600


def test_a_line_that_is_not_json_gets_a_parse_error_and_the_session_goes_on(server: RawStdio) -> None:
    server.send("this is not JSON")
    assert server.receive()["error"]["code"] == -32700
    server.send({"jsonrpc": "2.0", "id": 3, "method": "ping"})
    assert server.receive() == {"jsonrpc": "2.0", "id": 3, "result": {}}


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_lets_the_call_in_flight_answer_then_exits_0(tmp_path: Path, sig: signal.Signals) -> None:
    from tests.http_support import install_throwaway_plugin

    plugins = install_throwaway_plugin(tmp_path / "plugins")
    raw = start(tmp_path, PROVIDER="slow", SLOW_SECONDS="1.5", PYTHONPATH=str(plugins), LOG_LEVEL="info")
    raw.send(tool_call_line(7, '{"prompt":"slowly","size":"1024x1024"}'))
    time.sleep(0.5)
    raw.process.send_signal(sig)
    answer = raw.receive()
    assert answer["id"] == 7 and answer["result"]["isError"] is False
    assert raw.process.wait(10) == 0  # without stdin being closed
    assert raw.process.stderr is not None
    stderr = raw.process.stderr.read().decode()
    assert f"Stopping after {sig.name} (1 request(s) in flight)" in stderr and "Traceback" not in stderr


def test_an_idle_server_stops_at_once_on_sigterm(tmp_path: Path) -> None:
    raw = start(tmp_path)
    started = time.monotonic()
    raw.process.send_signal(signal.SIGTERM)
    assert raw.process.wait(10) == 0 and time.monotonic() - started < 5


def test_blank_lines_are_skipped_without_an_answer(server: RawStdio) -> None:
    server.send("")
    server.send("   \r")
    server.send({"jsonrpc": "2.0", "id": 4, "method": "ping"})
    assert server.receive() == {"jsonrpc": "2.0", "id": 4, "result": {}}


def test_a_large_answer_in_flight_is_written_whole_before_the_exit(tmp_path: Path) -> None:
    from tests.http_support import install_throwaway_plugin

    plugins = install_throwaway_plugin(tmp_path / "plugins")
    raw = start(tmp_path, PROVIDER="slow", SLOW_SECONDS="2", PYTHONPATH=str(plugins), SLOW_NOISE="1")
    raw.send(tool_call_line(8, '{"prompt":"slowly","size":"1024x1024","max_inline_bytes":8000000}'))
    time.sleep(0.3)
    raw.process.send_signal(signal.SIGTERM)
    time.sleep(0.5)  # the signal is handled by then; the call is still running
    raw.send({"jsonrpc": "2.0", "id": 9, "method": "ping"})  # arrives while stopping: refused, not dropped
    answers = {message["id"]: message for message in (raw.receive(), raw.receive())}
    assert answers[9]["error"]["code"] == -32003
    assert answers[8]["result"]["isError"] is False
    inline = [block for block in answers[8]["result"]["content"] if block["type"] == "image"]
    assert len(inline) == 1 and len(inline[0]["data"]) > 3_000_000  # the whole 3 MB image, not a cut line
    assert raw.process.wait(10) == 0


def test_a_cancelled_request_is_not_waited_for_at_stop(tmp_path: Path) -> None:
    from tests.http_support import install_throwaway_plugin

    plugins = install_throwaway_plugin(tmp_path / "plugins")
    env = {"PROVIDER": "slow", "SLOW_SECONDS": "30", "PYTHONPATH": str(plugins), "LOG_LEVEL": "info"}
    raw = start(tmp_path, SHUTDOWN_GRACE_SECONDS="20", **env)
    raw.send(tool_call_line(11, '{"prompt":"slowly","size":"1024x1024"}'))
    time.sleep(0.5)
    raw.send({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 11}})
    raw.send({"jsonrpc": "2.0", "id": 12, "method": "ping"})
    assert raw.receive() == {"jsonrpc": "2.0", "id": 12, "result": {}}
    started = time.monotonic()
    raw.process.send_signal(signal.SIGTERM)
    assert raw.process.wait(10) == 0 and time.monotonic() - started < 5
    assert raw.process.stderr is not None
    assert "Stopping after SIGTERM (0 request(s) in flight)" in raw.process.stderr.read().decode()


def test_json_that_is_not_a_json_rpc_request_gets_an_error_for_its_id(server: RawStdio) -> None:
    server.send({"jsonrpc": "2.0", "id": 13, "method": "tools/call", "params": [1]})
    assert server.receive() == {
        "jsonrpc": "2.0",
        "id": 13,
        "error": {"code": -32600, "message": "Invalid request: not a JSON-RPC 2.0 request"},
    }
