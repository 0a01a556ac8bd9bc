"""Helpers for HTTP tests: the real app served by uvicorn on 127.0.0.1, raw JSON-RPC over httpx2, and a
throwaway plugin distribution for subprocess tests."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx2
from gpt_image_mcp.http import build_http_app, run_in_thread
from gpt_image_mcp.server import build_server
from gpt_image_mcp.service import ImageService
from gpt_image_mcp.settings import Settings, load_settings
from prometheus_client.parser import text_string_to_metric_families

MODERN = "2026-07-28"
SCRIPT = str(Path(sys.executable).parent / "gpt-image-mcp")
PLUGIN_SOURCE = Path(__file__).with_name("throwaway_plugin.py")


@dataclass
class RunningApp:
    base: str
    port: int
    settings: Settings
    service: ImageService

    @property
    def mcp(self) -> str:
        return f"{self.base}/mcp"


@contextmanager
def serve_app(
    settings: Settings | None = None, *, extra_plugins: Sequence[tuple[str, object]] = (), **overrides: Any
) -> Iterator[RunningApp]:
    """Build service, MCP server and HTTP app exactly as `serve` does, and serve it on a free loopback port."""
    overrides.setdefault("provider", "offline")
    settings = settings or load_settings(**overrides)
    service = ImageService.create(settings, extra_plugins=extra_plugins)
    app = build_http_app(build_server(service), service, settings)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server, thread = run_in_thread(app, settings, sock)
    try:
        yield RunningApp(f"http://127.0.0.1:{port}", port, settings, service)
    finally:
        server.should_exit = True
        thread.join(20)
        sock.close()
        closer = threading.Thread(target=anyio.run, args=(service.aclose,))  # the caller may be in an event loop
        closer.start()
        closer.join(20)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- raw JSON-RPC (protocol 2026-07-28: one self-contained POST per request) -----------------------------


def rpc_body(method: str, params: dict[str, Any] | None = None, request_id: int | str | None = 1) -> dict[str, Any]:
    meta = {
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientInfo": {"name": "tests", "version": "0"},
        "io.modelcontextprotocol/clientCapabilities": {},
    }
    body: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "params": {**(params or {}), "_meta": meta}}
    if request_id is not None:
        body["id"] = request_id
    return body


def rpc_headers(method: str, name: str | None = None, key: str | None = None, **extra: str) -> dict[str, str]:
    headers = {
        "accept": "application/json, text/event-stream",
        "content-type": "application/json",
        "mcp-protocol-version": MODERN,
        "mcp-method": method,
    }
    if name:
        headers["mcp-name"] = name
    if key:
        headers["authorization"] = f"Bearer {key}"
    headers.update({k.replace("_", "-"): v for k, v in extra.items()})
    return headers


def call_tool(
    client: httpx2.Client,
    base: str,
    name: str,
    arguments: dict[str, Any] | None = None,
    *,
    request_id: int | str = 1,
    key: str | None = None,
    headers: dict[str, str] | None = None,
) -> httpx2.Response:
    body = rpc_body("tools/call", {"name": name, "arguments": arguments or {}}, request_id)
    return client.post(
        f"{base}/mcp", json=body, headers={**rpc_headers("tools/call", name, key), **(headers or {})}, timeout=60
    )


def list_tools(client: httpx2.Client, base: str, *, key: str | None = None, **headers: str) -> httpx2.Response:
    return client.post(
        f"{base}/mcp", json=rpc_body("tools/list"), headers={**rpc_headers("tools/list", key=key), **headers}
    )


def rpc_message(response: httpx2.Response) -> dict[str, Any]:
    """The JSON-RPC response in a reply, whether sent as JSON or as an SSE stream."""
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        for line in response.text.splitlines():
            if line.startswith("data:"):
                message = json.loads(line[5:])
                if "result" in message or "error" in message:
                    return message
        raise AssertionError(f"no JSON-RPC response in the stream: {response.text[:500]}")
    return response.json()


# -- metrics ---------------------------------------------------------------------------------------------


def scrape(
    client: httpx2.Client, base: str, key: str | None = None
) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """GET /metrics and parse it: {(sample name, labels): value}."""
    headers = {"authorization": f"Bearer {key}"} if key else {}
    response = client.get(f"{base}/metrics", headers=headers)
    assert response.status_code == 200, response.text
    return parse_metrics(response.text)


def parse_metrics(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def sample(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    """Sum of the samples called `name` whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(value for (found, have), value in samples.items() if found == name and wanted <= have)


# -- subprocess servers with a throwaway plugin distribution ---------------------------------------------


def install_throwaway_plugin(folder: Path) -> Path:
    """Make `throwaway_plugin` (providers slow and leaky) discoverable through entry points by putting it and
    a minimal .dist-info on a folder meant for PYTHONPATH; returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(PLUGIN_SOURCE, folder / "throwaway_plugin.py")
    info = folder / "gpt_image_mcp_throwaway-0.1.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: gpt-image-mcp-throwaway\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[gpt_image_mcp]\nthrowaway = throwaway_plugin\n")
    return folder


@dataclass
class ServerProcess:
    process: subprocess.Popen[bytes]
    base: str
    stderr_path: Path

    @property
    def mcp(self) -> str:
        return f"{self.base}/mcp"

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def stop(self, sig: int | None = signal.SIGTERM, timeout: float = 30) -> tuple[int, str]:
        """Send `sig` (None: already sent), wait for the exit; returns (exit status, all of stderr)."""
        if sig is not None and self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            status = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
            raise
        return status, self.stderr()


def start_server_process(
    env: dict[str, str], cwd: Path, *, plugin_path: Path | None = None, args: Sequence[str] = ()
) -> ServerProcess:
    """`gpt-image-mcp serve --transport http` on a free port; returns once /health/live answers.

    stderr goes to a file (cwd/server-stderr-PORT.log), not a pipe, so a chatty server never blocks on it."""
    port = free_port()
    full_env = {**os.environ, **env}
    if plugin_path is not None:
        full_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(plugin_path), full_env.get("PYTHONPATH")]))
    stderr_path = cwd / f"server-stderr-{port}.log"
    with stderr_path.open("wb") as stderr:
        process = subprocess.Popen(
            [SCRIPT, "serve", "--transport", "http", "--port", str(port), *args],
            cwd=cwd,
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    server = ServerProcess(process, f"http://127.0.0.1:{port}", stderr_path)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            if httpx2.get(f"{server.base}/health/live", timeout=1).status_code == 200:
                return server
        except httpx2.TransportError:
            time.sleep(0.05)
    process.kill()
    process.wait(timeout=10)
    raise AssertionError(f"server did not start: {server.stderr()}")
