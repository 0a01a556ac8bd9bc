"""Benchmarks: gpt-image-mcp, started as a user would, against a bare MCP SDK server, through a fake upstream.

    .venv/bin/python bench/run.py                 # full run (about 3 minutes on 2 cores)
    .venv/bin/python bench/run.py --quick         # short run (about 1 minute)
    .venv/bin/python bench/run.py --repeat 3      # medians of 3 runs (ratios are taken within each run)
    .venv/bin/python bench/run.py --only stdio,images --output /tmp/bench.md

What runs: `bench/fake_upstream.py` (a fake OpenAI Images API on 127.0.0.1 with a fixed PNG and a configurable
latency), the installed console script `gpt-image-mcp` as a subprocess (stdio, and `serve --transport http` on
a free port) with PROVIDER=openai pointed at the fake, and `bench/bare_server.py` (a bare `MCPServer` with the
same five tool names that does no work) run the same ways. Clients are the SDK's `Client`, handshake era
(`mode="legacy"`, protocol 2025-11-25) unless `--mode auto`, except in the concurrency runs: there the load comes
from `bench/load_client.py` (raw JSON-RPC over HTTP with httpx2, protocol 2025-11-25, no schema validation) so that
client CPU does not lower the server's figures; `--load-client sdk` uses the SDK's `Client` there too. Server CPU
and memory come from /proc (Linux).

Prints a markdown table (also written to `--output`); targets are benchmark targets, not tests: a missed
target does not change the exit status, a measurement that fails does (1).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
import importlib.metadata
import json
import os
import platform
import select
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TextIO

import anyio
import httpx2
from load_client import LoadSession, http_client
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp_types import CallToolResult

BENCH_DIR = Path(__file__).resolve().parent
BARE_SERVER = BENCH_DIR / "bare_server.py"
FAKE_UPSTREAM = BENCH_DIR / "fake_upstream.py"
PYTHON = sys.executable
MIB = 1024 * 1024
HEAVY_MODULES = ("openai", "azure.identity", "boto3", "botocore")
INFO_MODULES = ("PIL.Image", "uvicorn", "httpx2", "numpy")
SMALL_ARGS: dict[str, Any] = {
    "prompt": "a lighthouse at dusk",
    "size": "1024x1024",
    "quality": "low",
    "output_format": "png",
}
MAX_CALLS_PER_CLIENT = 100_000
SECTIONS = ("imports", "coldstart", "stdio", "http", "throughput", "images")
# Settings of the developer's machine that must not leak into the servers (as in tests/conftest.py).
SETTING_PREFIXES = (
    "IMAGE_STORE", "PROGRESS_", "HTTP_", "RETRY_", "WORKSPACE_", "DEFAULT_SINKS", "PROVIDER", "OPENAI_", "AZURE_",
    "TOGETHER_", "CUSTOM_OPENAI_", "MCP_", "GPT_IMAGE_MCP_", "DEFAULT_MODEL", "PORT", "HOST", "LOG_", "USE_", "MAX_",
    "MODEL_CAPABILITIES_FILE", "OUTPUT_DIR", "IDENTITY_", "METRICS_", "RATE_LIMIT_", "TRUSTED_PROXIES",
    "ALLOWED_HOSTS", "ALLOWED_ORIGINS", "SHUTDOWN_", "BARE_",
)  # fmt: skip
INITIALIZE = (
    json.dumps(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "bench", "version": "0"},
            },
        }
    ).encode()
    + b"\n"
)
# What a client sends right after the answer to initialize. gpt-image-mcp builds its tools on the first tool
# request (not before answering initialize), so the time to this answer keeps that cost in view.
LIST_TOOLS = (
    json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}).encode()
    + b"\n"
    + json.dumps({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}).encode()
    + b"\n"
)


class BenchError(RuntimeError):
    pass


@dataclass(frozen=True)
class Profile:
    cold_runs: int
    help_runs: int
    calls: int
    warmup: int
    clients: int
    throughput_seconds: float
    saturated_seconds: float
    image_calls: int
    sections: tuple[str, ...] = SECTIONS
    #: Processes the concurrent clients are spread over (32 clients are 32 programs, not one event loop).
    client_processes: int = 4


PROFILES = {
    "full": Profile(15, 10, 200, 20, 32, 10.0, 8.0, 5),
    "quick": Profile(5, 5, 60, 5, 32, 4.0, 3.0, 2),
    # The pytest smoke test: fake upstream + the stdio path, a few calls; no timing is judged.
    "smoke": Profile(1, 1, 3, 1, 2, 0.5, 0.5, 1, sections=("imports", "stdio"), client_processes=1),
}


@dataclass(frozen=True)
class ImageCase:
    key: str
    label: str
    width: int
    height: int
    size_arg: str


IMAGE_CASES = (
    ImageCase("img3mb", "3 MB PNG (1024x1024 noise)", 1024, 1024, "1024x1024"),
    ImageCase("img4k", "3840x2160 PNG (noise)", 3840, 2160, "3840x2160"),
)


# -- /proc -----------------------------------------------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process (all its threads), from /proc/<pid>/stat."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def memory_mib(pid: int, name: str = "VmRSS") -> float:
    """A memory figure of /proc/<pid>/status (VmRSS: resident now, VmHWM: peak resident), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return int(line.split()[1]) / 1024
    raise BenchError(f"no {name} in /proc/{pid}/status")


def reset_peak_rss(pid: int) -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0); False when not permitted."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def child_pid(marker: str) -> int:
    """The newest child of this process whose command line contains `marker` (a server the SDK spawned)."""
    found: list[tuple[int, int]] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == os.getpid() and marker in cmdline:
            found.append((int(fields[19]), int(entry.name)))
    if not found:
        raise BenchError(f"no child process running {marker}")
    return max(found)[1]


# -- processes -------------------------------------------------------------------------------------------


class LineReader:
    """Reads lines from a pipe with a deadline (no thread, no blocking read)."""

    def __init__(self, pipe: IO[bytes]) -> None:
        self.fd = pipe.fileno()
        self.buffer = b""

    def readline(self, deadline: float) -> bytes:
        for _ in range(100_000):
            if b"\n" in self.buffer:
                line, self.buffer = self.buffer.split(b"\n", 1)
                return line
            left = deadline - time.monotonic()
            if left <= 0:
                break
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                chunk = os.read(self.fd, 65536)
                if not chunk:
                    raise BenchError("the process closed its output")
                self.buffer += chunk
        raise BenchError("timed out waiting for a line")


@dataclass
class Processes:
    """Every process the benchmark starts; all are stopped on exit."""

    workdir: Path
    running: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def log(self, name: str) -> Path:
        return self.workdir / f"{name}.log"

    def start(self, name: str, cmd: list[str], env: dict[str, str], **kwargs: Any) -> subprocess.Popen[bytes]:
        with self.log(name).open("ab") as log:
            proc = subprocess.Popen(cmd, env=env, cwd=self.workdir, stderr=log, **kwargs)
        self.running.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen[bytes], timeout: float = 15) -> None:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout)
        for pipe in (proc.stdin, proc.stdout):
            if pipe is not None:
                pipe.close()
        if proc in self.running:
            self.running.remove(proc)

    def close(self) -> None:
        for proc in list(self.running):
            self.stop(proc)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"the server exited with status {proc.returncode} before listening")
        with socket.socket() as sock:
            sock.settimeout(1)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise BenchError(f"nothing listens on 127.0.0.1:{port} after {timeout:g} s")


def console_script() -> str:
    beside = Path(sys.executable).parent / "gpt-image-mcp"
    found = str(beside) if beside.exists() else shutil.which("gpt-image-mcp")
    if not found:
        raise BenchError("the console script gpt-image-mcp is not installed (pip install -r requirements.txt)")
    return found


@dataclass
class Upstream:
    """The fake OpenAI upstream process and how to reconfigure it."""

    url: str
    proc: subprocess.Popen[bytes]

    def configure(self, latency_ms: int = 0, width: int = 1024, height: int = 1024, noise: bool = False) -> int:
        body = {"latency_ms": latency_ms, "width": width, "height": height, "noise": noise}
        response = httpx2.post(f"{self.url}/bench/config", json=body, timeout=120)
        response.raise_for_status()
        return int(response.json()["image_bytes"])


def start_upstream(processes: Processes, env: dict[str, str]) -> Upstream:
    proc = processes.start("fake-upstream", [PYTHON, str(FAKE_UPSTREAM)], env, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    line = LineReader(proc.stdout).readline(time.monotonic() + 60)
    port = int(json.loads(line)["port"])
    return Upstream(f"http://127.0.0.1:{port}", proc)


@dataclass
class Servers:
    """How to start gpt-image-mcp ("ours"), the bare baseline ("bare") and the forwarding floor ("floor": the bare
    server with `--forward`), stdio or HTTP."""

    processes: Processes
    env: dict[str, str]
    script: str
    mode: str
    #: Who makes the load of the concurrency runs: "lean" (bench/load_client.py) or "sdk" (the SDK's `Client`).
    load_client: str = "lean"

    def stdio_command(self, kind: str) -> list[str]:
        if kind == "ours":
            return [self.script]
        return [PYTHON, str(BARE_SERVER), *(["--forward"] if kind == "floor" else [])]

    def marker(self, kind: str) -> str:
        return "gpt-image-mcp" if kind == "ours" else BARE_SERVER.name

    def env_for(self, kind: str, delay_ms: int = 0) -> dict[str, str]:
        return {**self.env, "BARE_DELAY_MS": str(delay_ms)} if kind == "bare" else self.env

    @contextlib.contextmanager
    def http(self, kind: str, delay_ms: int = 0) -> Iterator[tuple[str, int]]:
        """A fresh HTTP server: yields its /mcp URL and pid."""
        port = free_port()
        if kind == "ours":
            cmd = [self.script, "serve", "--transport", "http", "--port", str(port)]
        else:
            cmd = [*self.stdio_command(kind), "--transport", "http", "--port", str(port)]
        proc = self.processes.start(f"{kind}-http", cmd, self.env_for(kind, delay_ms), stdout=subprocess.DEVNULL)
        try:
            wait_for_port(port, proc)
            yield f"http://127.0.0.1:{port}/mcp", proc.pid
        finally:
            self.processes.stop(proc)

    def stdio_transport(self, kind: str, errlog: TextIO) -> Any:
        """The SDK's stdio transport: it spawns the server (its stderr goes to `errlog`)."""
        cmd = self.stdio_command(kind)
        params = StdioServerParameters(command=cmd[0], args=cmd[1:], env=self.env_for(kind), cwd=self.processes.workdir)
        return stdio_client(params, errlog=errlog)


def server_env(workdir: Path, upstream_url: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.upper().startswith(SETTING_PREFIXES)}
    # An installed package has its bytecode compiled; in a checkout the warm-up spawn writes it, unless this is set
    # (then every source file changed since its .pyc was written is compiled again at every start).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(
        PROVIDER="openai",
        OPENAI_API_KEY="sk-bench",
        OPENAI_BASE_URL=f"{upstream_url}/v1",
        IMAGE_STORE_DIR=str(workdir / "store"),
        OUTPUT_DIR=str(workdir / "output"),
        LOG_LEVEL="warning",
        HOST="127.0.0.1",
        MAX_REQUESTS_PER_MINUTE="1000000",
        MAX_SESSIONS_PER_MINUTE="1000000",
    )
    return env


# -- measurements ----------------------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        raise BenchError("no values")
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


async def call_image(client: Client, arguments: dict[str, Any]) -> CallToolResult:
    result = await client.call_tool("image_generate", arguments)
    if result.is_error:
        text = " ".join(getattr(block, "text", "") for block in result.content)
        raise BenchError(f"image_generate failed: {text[:500]}")
    return result


def wire_bytes(result: CallToolResult) -> int:
    """Bytes of the JSON-RPC `result` member as the server serialises it."""
    return len(result.model_dump_json(by_alias=True, exclude_none=True).encode())


async def measure_calls(
    transport: Any, pid_of: Callable[[], int], calls: int, warmup: int, mode: str
) -> dict[str, float]:
    """Sequential image_generate calls on one session: latency percentiles, server CPU per call, RSS."""
    async with Client(transport, mode=mode, read_timeout_seconds=120) as client:
        pid = pid_of()
        idle_rss = memory_mib(pid)
        for _ in range(warmup):
            await call_image(client, SMALL_ARGS)
        cpu_before = cpu_seconds(pid)
        latencies = []
        for _ in range(calls):
            start = time.perf_counter()
            await call_image(client, SMALL_ARGS)
            latencies.append(time.perf_counter() - start)
        cpu_after = cpu_seconds(pid)
        warm_rss = memory_mib(pid)
    return {
        "p50_ms": percentile(latencies, 0.5) * 1000,
        "p95_ms": percentile(latencies, 0.95) * 1000,
        "cpu_ms": (cpu_after - cpu_before) / calls * 1000,
        "idle_rss_mib": idle_rss,
        "warm_rss_mib": warm_rss,
    }


@contextlib.asynccontextmanager
async def load_session(
    url: str, mode: str, http: httpx2.AsyncClient | None
) -> AsyncIterator[Callable[[], Awaitable[object]]]:
    """One session of the load runs; yields its `image_generate` call. With `http`, a lean session
    (bench/load_client.py) on that shared client; without, the SDK's `Client`."""
    if http is None:
        async with Client(url, mode=mode, read_timeout_seconds=120) as client:
            yield lambda: call_image(client, SMALL_ARGS)
        return
    session = await LoadSession.open(http, url)
    try:
        yield lambda: session.call_tool("image_generate", SMALL_ARGS)
    finally:
        await session.close()


@dataclass(frozen=True)
class Stagger:
    """When each session of a load run starts: session `first + i` of `total` waits `spread * (first + i) / total`
    seconds after "go", so the sessions' calls arrive spread over one upstream latency, not as one burst."""

    spread: float = 0.0
    first: int = 0
    total: int = 1

    def offset(self, index: int) -> float:
        return self.spread * (self.first + index) / max(1, self.total)


async def worker_clients(
    url: str, clients: int, seconds: float, mode: str, load_client: str = "lean", stagger: Stagger | None = None
) -> dict[str, list[float]]:
    """One client process of the concurrency runs: connect `clients` sessions, say "ready" on stdout, wait for
    "go" on stdin, then call image_generate back to back on each session for `seconds` from its own start (see
    `Stagger`). A failed call ends the run (no failure is counted as a call)."""
    stagger = stagger or Stagger()
    if load_client == "sdk":
        return await _run_sessions(url, clients, seconds, mode, None, stagger)
    async with http_client(clients) as http:
        return await _run_sessions(url, clients, seconds, mode, http, stagger)


async def _run_sessions(
    url: str, clients: int, seconds: float, mode: str, http: httpx2.AsyncClient | None, stagger: Stagger
) -> dict[str, list[float]]:
    counts = [0] * clients
    elapsed = [0.0] * clients
    connected = anyio.Event()
    go = anyio.Event()
    ready = 0
    started: list[float] = []

    async def one_client(index: int) -> None:
        nonlocal ready
        async with load_session(url, mode, http) as call:
            ready += 1
            if ready == clients:
                connected.set()
            with anyio.fail_after(180):
                await go.wait()
            await anyio.sleep(stagger.offset(index))
            start = time.perf_counter()
            deadline = start + seconds
            for _ in range(MAX_CALLS_PER_CLIENT):
                if time.perf_counter() >= deadline:
                    break
                await call()
                counts[index] += 1
            elapsed[index] = time.perf_counter() - start

    with anyio.fail_after(seconds + 300):
        async with anyio.create_task_group() as group:
            for index in range(clients):
                group.start_soon(one_client, index)
            with anyio.fail_after(120):
                await connected.wait()
            print(json.dumps("ready"), flush=True)  # every line to the parent is JSON
            line = await anyio.to_thread.run_sync(sys.stdin.readline)
            if line.strip() != "go":
                raise BenchError(f"expected go, got {line!r}")
            started.append(time.perf_counter())
            go.set()
    return {"counts": [float(count) for count in counts], "elapsed": elapsed}


def worker_message(reader: LineReader, deadline: float) -> Any:
    """The next line of a client process, as JSON; its `{"error": ...}` line (see `main`) raises BenchError."""
    try:
        message = json.loads(reader.readline(deadline))
    except BenchError as exc:
        raise BenchError(f"a client process: {exc} (its stderr: bench-clients.log, kept with --keep)") from exc
    if isinstance(message, dict) and "error" in message:
        raise BenchError(f"a client process failed: {message['error']}")
    return message


def measure_concurrent(
    processes: Processes,
    url: str,
    pid: int,
    clients: int,
    seconds: float,
    mode: str,
    client_processes: int,
    load_client: str = "lean",
    spread: float = 0.0,
) -> dict[str, float]:
    """`clients` sessions spread over `client_processes` processes, each calling for `seconds` after a start
    staggered over `spread` seconds (see `Stagger`): calls per second (calls / mean time per session) and the
    server's CPU busy share over that time. `load_client`: "lean" (bench/load_client.py) or "sdk" (the SDK's
    `Client`)."""
    share = [clients // client_processes + (index < clients % client_processes) for index in range(client_processes)]
    firsts = [sum(share[:index]) for index in range(len(share))]
    workers = [
        processes.start(
            "bench-clients",
            [PYTHON, str(Path(__file__).resolve()), "--worker", url, "--clients", str(count), "--seconds",
             str(seconds), "--mode", mode, "--load-client", load_client, "--stagger", f"{spread},{first},{clients}"],
            dict(os.environ),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        for count, first in zip(share, firsts, strict=True)
        if count
    ]  # fmt: skip
    try:
        readers = [LineReader(worker.stdout) for worker in workers if worker.stdout is not None]
        deadline = time.monotonic() + 180
        for reader in readers:
            if worker_message(reader, deadline) != "ready":
                raise BenchError("a client process did not get ready")
        cpu_start = cpu_seconds(pid)
        wall_start = time.perf_counter()
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write(b"go\n")
            worker.stdin.flush()
        deadline = time.monotonic() + seconds + 300
        results = [worker_message(reader, deadline) for reader in readers]
        cpu_used = cpu_seconds(pid) - cpu_start
        wall = time.perf_counter() - wall_start
    finally:
        for worker in workers:
            processes.stop(worker)
    counts = [count for result in results for count in result["counts"]]
    elapsed = statistics.mean(value for result in results for value in result["elapsed"])
    return {"rate": sum(counts) / elapsed, "calls": sum(counts), "cpu_busy_pct": cpu_used / wall * 100}


async def openai_floor(upstream_url: str, calls: int) -> float:
    """CPU seconds per `images.generate` of the openai SDK alone against the fake (in this process)."""
    import openai

    client = openai.AsyncOpenAI(api_key="sk-bench", base_url=f"{upstream_url}/v1", max_retries=0)
    arguments = {key: value for key, value in SMALL_ARGS.items() if key != "prompt"}
    try:
        for _ in range(5):
            await client.images.generate(model="gpt-image-2", prompt=SMALL_ARGS["prompt"], **arguments)
        start = time.process_time()
        for _ in range(calls):
            await client.images.generate(model="gpt-image-2", prompt=SMALL_ARGS["prompt"], **arguments)
        return (time.process_time() - start) / calls
    finally:
        await client.close()


async def measure_image(url: str, arguments: dict[str, Any], calls: int, mode: str) -> dict[str, Any]:
    async with Client(url, mode=mode, read_timeout_seconds=300) as client:
        times = []
        result: CallToolResult | None = None
        for _ in range(calls):
            start = time.perf_counter()
            result = await call_image(client, arguments)
            times.append(time.perf_counter() - start)
    assert result is not None
    images = (result.structured_content or {}).get("images", [{}])
    return {"rtt_ms": statistics.median(times) * 1000, "wire": wire_bytes(result), "info": images[0]}


async def one_call(url: str, mode: str) -> None:
    async with Client(url, mode=mode, read_timeout_seconds=120) as client:
        await call_image(client, SMALL_ARGS)


# -- sections --------------------------------------------------------------------------------------------

AUDIT = """
import json, sys, time
start = time.perf_counter()
from gpt_image_mcp import cli
from gpt_image_mcp.http import build_http_app
from gpt_image_mcp.logs import configure_logging
from gpt_image_mcp.secrets_mask import register_settings_secrets
from gpt_image_mcp.server import build_server

# What `gpt-image-mcp serve` does before it serves (cli._serve), plus the HTTP app of --transport http.
settings = cli._settings(None)
register_settings_secrets(settings)
configure_logging(settings.log_level, settings.log_format)
service = cli._service(settings)
server = build_server(service)
build_http_app(server, service, settings)
elapsed = time.perf_counter() - start
print(json.dumps({
    "modules": {name: name in sys.modules for name in sys.argv[1:]},
    "count": len(sys.modules),
    "providers": list(service.providers),
    "plugins": [p.name for p in service.registry.plugins if p.status == "loaded"],
    "seconds": elapsed,
}))
"""
# What the bare server does before it serves: its imports, its MCPServer and tools.
BARE_IMPORTS = f"import sys; sys.path.insert(0, {str(BENCH_DIR)!r}); import bare_server; bare_server.build(False)"


def import_times(args: list[str], env: dict[str, str], cwd: Path) -> dict[str, float]:
    """Self import time per top-level package (`-X importtime`), in ms."""
    done = subprocess.run(
        [PYTHON, "-X", "importtime", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120, check=True
    )
    per_package: dict[str, float] = {}
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        parts = line[len("import time:") :].split("|")
        if len(parts) != 3:
            continue
        package = parts[2].strip().split(".")[0]
        per_package[package] = per_package.get(package, 0.0) + int(parts[0]) / 1000
    return per_package


@dataclass
class Run:
    """One run's numbers: `values[key]` for "ours.<metric>" / "bare.<metric>", and facts for the notes."""

    values: dict[str, float] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def section_imports(run: Run, servers: Servers, profile: Profile) -> None:
    wanted = [*HEAVY_MODULES, *INFO_MODULES]
    done = subprocess.run(
        [PYTHON, "-c", AUDIT, *wanted],
        env=servers.env,
        cwd=servers.processes.workdir,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0:
        raise BenchError(f"import audit failed: {done.stderr[-2000:]}")
    audit = json.loads(done.stdout.strip().splitlines()[-1])
    heavy = [name for name in HEAVY_MODULES if audit["modules"][name]]
    run.values["ours.heavy_imports"] = float(len(heavy))
    run.facts["heavy_imported"] = heavy
    run.facts["info_imported"] = [name for name in INFO_MODULES if audit["modules"][name]]
    run.facts["modules_at_start"] = audit["count"]
    run.facts["providers"] = audit["providers"]
    run.facts["plugins"] = audit["plugins"]
    # -X importtime of one start is noisy: per package, the median of three starts.
    cwd = servers.processes.workdir
    ours = _median_times([import_times(["-c", AUDIT, *wanted], servers.env, cwd) for _ in range(3)])
    bare = _median_times([import_times(["-c", BARE_IMPORTS], servers.env, cwd) for _ in range(3)])
    run.values["ours.import_ms"] = sum(ours.values())
    run.values["bare.import_ms"] = sum(bare.values())
    run.facts["import_top"] = sorted(
        ((name, ms, bare.get(name, 0.0)) for name, ms in ours.items()), key=lambda item: -(item[1] - item[2])
    )[:12]


def _median_times(samples: list[dict[str, float]]) -> dict[str, float]:
    names = {name for sample in samples for name in sample}
    return {name: statistics.median(sample.get(name, 0.0) for sample in samples) for name in names}


def time_to_initialize(processes: Processes, name: str, cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Seconds from spawning `cmd` to the answer to `initialize` over its stdio, and to the answer to the
    `tools/list` sent right after that answer."""
    start = time.perf_counter()
    proc = processes.start(name, cmd, env, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(INITIALIZE)
        proc.stdin.flush()
        reader = LineReader(proc.stdout)
        deadline = time.monotonic() + 60
        for _ in range(100):
            message = json.loads(reader.readline(deadline))
            if message.get("id") == 1:
                break
        else:
            raise BenchError("no answer to initialize")
        elapsed = time.perf_counter() - start
        if "result" not in message:
            raise BenchError(f"initialize failed: {message}")
        proc.stdin.write(LIST_TOOLS)
        proc.stdin.flush()
        for _ in range(100):
            message = json.loads(reader.readline(deadline))
            if message.get("id") == 2:
                break
        else:
            raise BenchError("no answer to tools/list")
        to_tools = time.perf_counter() - start
        if len(message.get("result", {}).get("tools", [])) != 5:
            raise BenchError(f"tools/list did not list five tools: {message}")
        return elapsed, to_tools
    finally:
        if proc.stdin is not None:
            proc.stdin.close()  # end of input: the server exits
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(10)
        processes.stop(proc)


def time_command(cmd: list[str], env: dict[str, str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60, check=True)
    return time.perf_counter() - start


def section_coldstart(run: Run, servers: Servers, profile: Profile) -> None:
    # "ours_min": only the openai plugin, what `pip install gpt-image-mcp` has (the dev venv adds four plugins and
    # the example plugin, which imports Pillow at start-up).
    variants = {
        "ours": (servers.stdio_command("ours"), servers.env),
        "bare": (servers.stdio_command("bare"), servers.env_for("bare")),
        "ours_min": (servers.stdio_command("ours"), {**servers.env, "GPT_IMAGE_MCP_PLUGINS": "openai"}),
    }
    times: dict[str, list[float]] = {name: [] for name in variants}
    tools_times: dict[str, list[float]] = {name: [] for name in variants}
    for index in range(profile.cold_runs + 1):  # the first of each is a warm-up (page cache, .pyc)
        order = list(variants) if index % 2 else list(reversed(variants))  # no kind always first
        for name in order:
            command, env = variants[name]
            seconds, to_tools = time_to_initialize(servers.processes, f"{name}-cold", command, env)
            if index:
                times[name].append(seconds)
                tools_times[name].append(to_tools)
    run.values["ours.cold_ms"] = statistics.median(times["ours"]) * 1000
    run.values["bare.cold_ms"] = run.values["bare.cold_min_ms"] = statistics.median(times["bare"]) * 1000
    run.values["ours.cold_min_ms"] = statistics.median(times["ours_min"]) * 1000
    run.values["ours.cold_tools_ms"] = statistics.median(tools_times["ours"]) * 1000
    run.values["bare.cold_tools_ms"] = statistics.median(tools_times["bare"]) * 1000
    cwd = servers.processes.workdir
    helps = [time_command([servers.script, "--help"], servers.env, cwd) for _ in range(profile.help_runs + 1)][1:]
    starts = [time_command([PYTHON, "-c", "pass"], servers.env, cwd) for _ in range(profile.help_runs + 1)][1:]
    run.values["ours.help_ms"] = statistics.median(helps) * 1000
    run.values["bare.help_ms"] = statistics.median(starts) * 1000


def section_stdio(run: Run, servers: Servers, profile: Profile, upstream: Upstream) -> None:
    upstream.configure(latency_ms=0)
    for kind in ("bare", "floor", "ours"):
        marker = servers.marker(kind)
        with servers.processes.log(f"{kind}-stdio").open("a") as errlog:
            numbers = anyio.run(
                measure_calls,
                servers.stdio_transport(kind, errlog),
                lambda marker=marker: child_pid(marker),
                profile.calls,
                profile.warmup,
                servers.mode,
            )
        for name, value in numbers.items():
            run.values[f"{kind}.stdio_{name}"] = value
    floor_rows(run, "stdio")


def section_http(run: Run, servers: Servers, profile: Profile, upstream: Upstream) -> None:
    upstream.configure(latency_ms=0)
    for kind in ("bare", "floor", "ours"):
        with servers.http(kind) as (url, pid):
            numbers = anyio.run(measure_calls, url, lambda pid=pid: pid, profile.calls, profile.warmup, servers.mode)
        for name, value in numbers.items():
            run.values[f"{kind}.http_{name}"] = value
    floor_rows(run, "http")
    # The share of the openai SDK (request building, httpx2, response parsing): the same calls, in this process.
    run.values["ours.sdk_floor_ms"] = anyio.run(openai_floor, upstream.url, profile.calls) * 1000


def floor_rows(run: Run, transport: str) -> None:
    """The forwarding floor's CPU per call next to the bare server's, and ours next to the floor's."""
    cpu = f"{transport}_cpu_ms"
    run.values[f"ours.{transport}_floor_cpu_ms"] = run.values[f"floor.{cpu}"]
    run.values[f"bare.{transport}_floor_cpu_ms"] = run.values[f"bare.{cpu}"]
    run.values[f"ours.{transport}_vs_floor_cpu_ms"] = run.values[f"ours.{cpu}"]
    run.values[f"bare.{transport}_vs_floor_cpu_ms"] = run.values[f"floor.{cpu}"]


def section_throughput(run: Run, servers: Servers, profile: Profile, upstream: Upstream) -> None:
    for latency_ms, prefix, seconds in ((500, "tp", profile.throughput_seconds), (0, "sat", profile.saturated_seconds)):
        upstream.configure(latency_ms=latency_ms)
        for kind in ("bare", "ours"):
            with servers.http(kind, delay_ms=latency_ms) as (url, pid):
                anyio.run(one_call, url, servers.mode)  # warm-up: imports, upstream client
                numbers = measure_concurrent(
                    servers.processes,
                    url,
                    pid,
                    profile.clients,
                    seconds,
                    servers.mode,
                    profile.client_processes,
                    servers.load_client,
                    spread=latency_ms / 1000,
                )
            run.values[f"{kind}.{prefix}_rate"] = numbers["rate"]
            run.values[f"{kind}.{prefix}_cpu_pct"] = numbers["cpu_busy_pct"]
            run.values[f"{kind}.{prefix}_cpu_ms"] = numbers["cpu_busy_pct"] / 100 / numbers["rate"] * 1000
            if latency_ms:
                run.values[f"{kind}.{prefix}_pct"] = numbers["rate"] / (profile.clients / (latency_ms / 1000)) * 100
    upstream.configure(latency_ms=0)


def section_images(run: Run, servers: Servers, profile: Profile, upstream: Upstream) -> None:
    for case in IMAGE_CASES:
        upstream.configure(latency_ms=0)
        with servers.http("ours") as (url, pid):
            anyio.run(one_call, url, servers.mode)  # warm-up with a small image: imports, upstream client
            image_bytes = upstream.configure(latency_ms=0, width=case.width, height=case.height, noise=True)
            arguments = {**SMALL_ARGS, "size": case.size_arg}
            # The first large image also pays one-time costs (the preview path's code and buffers, a worker
            # thread's malloc arena); the later ones show what each further image costs.
            growth = {}
            start = memory_mib(pid)
            peaks = []
            for phase, calls in (("first", 1), ("later", profile.image_calls)):
                before = memory_mib(pid)
                reset = reset_peak_rss(pid)
                numbers = anyio.run(measure_image, url, arguments, calls, servers.mode)
                peaks.append(memory_mib(pid, "VmHWM"))
                growth[phase] = peaks[-1] - before
            growth["all"] = max(peaks) - start
        run.values[f"ours.{case.key}_bytes"] = float(image_bytes)
        run.values[f"ours.{case.key}_rtt_ms"] = numbers["rtt_ms"]
        run.values[f"ours.{case.key}_wire"] = float(numbers["wire"])
        for phase, mib in growth.items():
            run.values[f"ours.{case.key}_growth_{phase}_mib"] = mib
            run.values[f"ours.{case.key}_growth_{phase}_x"] = mib * MIB / image_bytes
        info = numbers["info"]
        preview = info.get("preview") or {}
        run.facts[f"{case.key}_preview"] = (
            f"{preview.get('width')}x{preview.get('height')} {preview.get('mime_type')}, {preview.get('bytes')} B"
            if preview
            else ("full image inline" if info.get("inline") else "no inline image")
        )
        run.facts["peak_reset"] = reset
    upstream.configure(latency_ms=0)


SECTION_FUNCTIONS: dict[str, Callable[..., None]] = {
    "imports": section_imports,
    "coldstart": section_coldstart,
    "stdio": section_stdio,
    "http": section_http,
    "throughput": section_throughput,
    "images": section_images,
}


def run_once(servers: Servers, profile: Profile, upstream: Upstream, sections: tuple[str, ...]) -> Run:
    run = Run()
    for name in sections:
        function = SECTION_FUNCTIONS[name]
        started = time.monotonic()
        print(f"bench: {name} ...", file=sys.stderr, flush=True)
        try:
            if name in ("imports", "coldstart"):
                function(run, servers, profile)
            else:
                function(run, servers, profile, upstream)
        except Exception as exc:
            traceback.print_exc()
            run.errors.append(f"{name}: {type(exc).__name__}: {exc}")
        print(f"bench: {name} done in {time.monotonic() - started:.1f} s", file=sys.stderr, flush=True)
    return run


# -- the report ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Metric:
    label: str
    key: str
    unit: str
    bare: bool = True
    target: str = ""
    #: (ours, ratio to bare) -> whether the target is met
    check: Callable[[float, float | None], bool] | None = None


def _max_ratio(limit: float) -> Callable[[float, float | None], bool]:
    return lambda ours, ratio: ratio is not None and ratio <= limit


def _below(limit: float) -> Callable[[float, float | None], bool]:
    return lambda ours, ratio: ours < limit


def _at_least(limit: float) -> Callable[[float, float | None], bool]:
    return lambda ours, ratio: ours >= limit


METRICS = (
    Metric("Cold start: spawn to `initialize` answer (stdio)", "cold_ms", "ms", True, "<= 1.15x bare",
           _max_ratio(1.15)),
    Metric("  the same with only the openai plugin (`GPT_IMAGE_MCP_PLUGINS=openai`)", "cold_min_ms", "ms", True,
           "<= 1.15x bare", _max_ratio(1.15)),
    Metric("Cold start: spawn to `tools/list` answer (stdio; our tools are built on the first tool request)",
           "cold_tools_ms", "ms"),
    Metric("`gpt-image-mcp --help` (bare column: `python -c pass`)", "help_ms", "ms"),
    Metric("Start-up imports and set-up as `serve` does, sum of `-X importtime` self times", "import_ms", "ms"),
    Metric("Idle RSS after `initialize`, stdio", "stdio_idle_rss_mib", "MiB", True, "< 100 MiB", _below(100)),
    Metric("Idle RSS after `initialize`, HTTP", "http_idle_rss_mib", "MiB", True, "< 100 MiB", _below(100)),
    Metric("RSS after the per-call runs, stdio", "stdio_warm_rss_mib", "MiB"),
    Metric("RSS after the per-call runs, HTTP", "http_warm_rss_mib", "MiB"),
    Metric("stdio `image_generate` p50 (0 ms upstream)", "stdio_p50_ms", "ms"),
    Metric("stdio `image_generate` p95 (0 ms upstream)", "stdio_p95_ms", "ms"),
    Metric("stdio server CPU per call", "stdio_cpu_ms", "ms", True, "<= 2x bare", _max_ratio(2.0)),
    Metric("HTTP `image_generate` p50 (0 ms upstream)", "http_p50_ms", "ms"),
    Metric("HTTP `image_generate` p95 (0 ms upstream)", "http_p95_ms", "ms"),
    Metric("HTTP server CPU per call", "http_cpu_ms", "ms", True, "<= 2x bare", _max_ratio(2.0)),
    Metric("Forwarding floor, stdio: CPU per call of `bare_server.py --forward` (the SDK, one httpx2 POST upstream, "
           "the image inline)", "stdio_floor_cpu_ms", "ms"),
    Metric("Forwarding floor, HTTP: the same", "http_floor_cpu_ms", "ms"),
    Metric("stdio server CPU per call, against the forwarding floor (bare column: the floor)", "stdio_vs_floor_cpu_ms",
           "ms"),
    Metric("HTTP server CPU per call, against the forwarding floor (bare column: the floor)", "http_vs_floor_cpu_ms",
           "ms"),
    Metric("openai SDK alone: CPU per `images.generate` against the fake (bench process)", "sdk_floor_ms", "ms", False),
    Metric("32 clients, 500 ms upstream: calls/s", "tp_rate", "calls/s"),
    Metric("32 clients, 500 ms upstream: % of ideal 64 calls/s", "tp_pct", "%", True, ">= 97 %", _at_least(97)),
    Metric("  server CPU busy at 500 ms (100 % = one core)", "tp_cpu_pct", "%"),
    Metric("32 clients, 0 ms upstream: saturated calls/s", "sat_rate", "calls/s"),
    Metric("  server CPU busy while saturated (100 % = one core)", "sat_cpu_pct", "%"),
    Metric("  server CPU per call while saturated", "sat_cpu_ms", "ms"),
    Metric("3 MB PNG: image bytes", "img3mb_bytes", "B", False),
    Metric("3 MB PNG: round trip (0 ms upstream, later images)", "img3mb_rtt_ms", "ms", False),
    # The targets are for the 3840x2160 result; the 3 MB image is reported without one.
    Metric("3 MB PNG: result on the wire", "img3mb_wire", "B", False),
    Metric("3 MB PNG: peak RSS growth over all large calls (from RSS before the first)", "img3mb_growth_all_mib",
           "MiB", False),
    Metric("3 MB PNG: the same / image bytes", "img3mb_growth_all_x", "x", False),
    Metric("  of which the first call alone", "img3mb_growth_first_mib", "MiB", False),
    Metric("  later calls, from the RSS left after the first", "img3mb_growth_later_mib", "MiB", False),
    Metric("3840x2160 PNG: image bytes", "img4k_bytes", "B", False),
    Metric("3840x2160 PNG: round trip (0 ms upstream, later images)", "img4k_rtt_ms", "ms", False),
    Metric("3840x2160 PNG: result on the wire", "img4k_wire", "B", False, "< 1 MiB", _below(MIB)),
    Metric("3840x2160 PNG: peak RSS growth over all large calls (from RSS before the first)", "img4k_growth_all_mib",
           "MiB", False),
    Metric("3840x2160 PNG: the same / image bytes", "img4k_growth_all_x", "x", False, "< 3x", _below(3)),
    Metric("  of which the first call alone", "img4k_growth_first_mib", "MiB", False),
    Metric("  later calls, from the RSS left after the first", "img4k_growth_later_mib", "MiB", False),
    Metric("Heavy SDKs imported at start-up (openai, azure.identity, boto3, botocore)", "heavy_imports", "n", False,
           "0", lambda ours, ratio: ours == 0),
)  # fmt: skip


def _format(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "ms":
        return f"{value:.1f} ms" if value >= 10 else f"{value:.2f} ms"
    if unit == "MiB":
        return f"{value:.1f} MiB"
    if unit == "B":
        return f"{value / MIB:.2f} MiB ({value:,.0f} B)" if value >= 100_000 else f"{value:,.0f} B"
    if unit == "x":
        return f"{value:.2f}x"
    if unit == "%":
        return f"{value:.1f} %"
    if unit == "calls/s":
        return f"{value:.1f}"
    return f"{value:g}"


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def render(runs: list[Run], header: dict[str, str], sections: tuple[str, ...]) -> str:
    lines = [f"- {name}: {value}" for name, value in header.items()]
    lines += [
        "",
        "| metric | gpt-image-mcp | bare baseline | ratio | target | result |",
        "|---|---:|---:|---:|---|---|",
    ]
    for metric in METRICS:
        ours_values = [run.values[f"ours.{metric.key}"] for run in runs if f"ours.{metric.key}" in run.values]
        if not ours_values:
            continue
        bare_values = [run.values[f"bare.{metric.key}"] for run in runs if f"bare.{metric.key}" in run.values]
        ratios = [
            run.values[f"ours.{metric.key}"] / run.values[f"bare.{metric.key}"]
            for run in runs
            if f"ours.{metric.key}" in run.values and run.values.get(f"bare.{metric.key}")
        ]
        ours = _median(ours_values)
        ratio = _median(ratios) if metric.bare else None
        bare = _median(bare_values) if metric.bare else None
        verdict = ""
        if metric.check is not None and ours is not None:
            verdict = "pass" if metric.check(ours, ratio) else "**MISS**"
        value = (
            ", ".join(runs[-1].facts.get("heavy_imported", [])) or "none"
            if metric.key == "heavy_imports"
            else _format(ours, metric.unit)
        )
        lines.append(
            f"| {metric.label} | {value} | {_format(bare, metric.unit)} | "
            f"{f'{ratio:.2f}x' if ratio is not None else '—'} | {metric.target} | {verdict} |"
        )
    facts = runs[-1].facts
    notes = []
    if "img4k_preview" in facts:
        notes.append(f"- Inline preview of the 3840x2160 image: {facts['img4k_preview']}.")
    if "img3mb_preview" in facts:
        notes.append(f"- Inline preview of the 3 MB image: {facts['img3mb_preview']}.")
    if "info_imported" in facts:
        notes.append(
            f"- Loaded at start-up: {facts['modules_at_start']} modules; of {', '.join(INFO_MODULES)}: "
            f"{', '.join(facts['info_imported']) or 'none'}. Plugins loaded: {', '.join(facts['plugins'])}."
        )
    if "peak_reset" in facts and not facts["peak_reset"]:
        notes.append("- VmHWM could not be reset: peak RSS includes the start-up peak.")
    if notes:
        lines += ["", *notes]
    if "import_top" in facts:
        lines += [
            "",
            "Start-up import time by top-level package (self time, `-X importtime`, last run; "
            "sorted by time beyond the bare server's):",
            "",
            "| package | gpt-image-mcp | bare |",
            "|---|---:|---:|",
        ]
        lines += [f"| {name} | {ours:.1f} ms | {bare:.1f} ms |" for name, ours, bare in facts["import_top"]]
    errors = [error for run in runs for error in run.errors]
    if errors:
        lines += ["", "Errors:", *[f"- {error}" for error in errors]]
    skipped = [name for name in SECTIONS if name not in sections]
    if skipped:
        lines += ["", f"Sections not run: {', '.join(skipped)}."]
    return "\n".join(lines) + "\n"


def first_error(exc: BaseException) -> BaseException:
    """The first exception inside (nested) exception groups, as anyio's task groups raise them."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def machine_description() -> str:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = ""
    with contextlib.suppress(OSError, ValueError, IndexError):
        memory = f", {int(Path('/proc/meminfo').read_text().split()[1]) / 1024 / 1024:.0f} GiB RAM"
    return f"{os.cpu_count()} cores ({model or platform.machine()}){memory}, Linux {platform.release()}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmarks of gpt-image-mcp against a bare MCP server.")
    parser.add_argument("--quick", action="store_true", help="a short run (fewer runs, calls and seconds)")
    parser.add_argument("--smoke", action="store_true", help="a few seconds: imports and the stdio path only")
    parser.add_argument("--only", default="", help=f"comma-separated sections: {','.join(SECTIONS)}")
    parser.add_argument("--repeat", type=int, default=1, help="runs of the whole set; medians are reported")
    parser.add_argument("--mode", default="legacy", choices=["legacy", "auto"], help="SDK Client protocol mode")
    parser.add_argument("--output", type=Path, help="also write the markdown report here")
    parser.add_argument("--json", type=Path, help="write the raw numbers of every run here")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, image store)")
    parser.add_argument("--client-processes", type=int, help="processes the concurrent clients are spread over")
    parser.add_argument(
        "--load-client",
        default="lean",
        choices=["lean", "sdk"],
        help="who makes the load of the concurrency runs: bench/load_client.py (lean) or the SDK's Client (sdk)",
    )
    parser.add_argument("--worker", metavar="URL", help=argparse.SUPPRESS)  # a client process of the load runs
    parser.add_argument("--clients", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, default=1.0, help=argparse.SUPPRESS)
    parser.add_argument("--stagger", default="0,0,1", help=argparse.SUPPRESS)  # spread seconds, first index, total
    args = parser.parse_args(argv)
    if args.worker:
        try:
            spread, first, total = args.stagger.split(",")
            stagger = Stagger(float(spread), int(first), int(total))
            result = anyio.run(
                worker_clients,
                args.worker,
                args.clients,
                min(args.seconds, 600.0),
                args.mode,
                args.load_client,
                stagger,
            )
        except Exception as exc:  # reported to the parent, which stops the run with this message
            traceback.print_exc()
            error = first_error(exc)
            print(json.dumps({"error": f"{type(error).__name__}: {error}"}), flush=True)
            return 1
        print(json.dumps(result), flush=True)
        return 0
    if not sys.platform.startswith("linux"):
        print("bench: Linux only (server CPU and memory come from /proc)", file=sys.stderr)
        return 2
    profile = PROFILES["smoke" if args.smoke else "quick" if args.quick else "full"]
    if args.client_processes:
        profile = dataclasses.replace(profile, client_processes=min(max(args.client_processes, 1), profile.clients))
    sections = tuple(name.strip() for name in args.only.split(",") if name.strip()) or profile.sections
    unknown = [name for name in sections if name not in SECTIONS]
    if unknown:
        parser.error(f"unknown section(s): {', '.join(unknown)}")
    repeat = min(max(args.repeat, 1), 20)

    workdir = Path(tempfile.mkdtemp(prefix="gpt-image-mcp-bench-"))
    processes = Processes(workdir)
    runs: list[Run] = []
    try:
        upstream = start_upstream(processes, dict(os.environ))
        servers = Servers(processes, server_env(workdir, upstream.url), console_script(), args.mode, args.load_client)
        for index in range(repeat):
            print(f"bench: run {index + 1} of {repeat}", file=sys.stderr, flush=True)
            runs.append(run_once(servers, profile, upstream, sections))
    finally:
        processes.close()
        if args.keep:
            print(f"bench: kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    header = {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine_description(),
        "software": f"Python {platform.python_version()}, mcp {importlib.metadata.version('mcp')}, "
        f"gpt-image-mcp-core {importlib.metadata.version('gpt-image-mcp-core')}",
        "profile": f"{'smoke' if args.smoke else 'quick' if args.quick else 'full'}, {repeat} run(s) "
        f"(values: medians over runs; ratios: taken within each run, then the median), "
        f"client mode {args.mode}",
        "per run": f"cold start {profile.cold_runs} spawns each; {profile.calls} calls per path after "
        f"{profile.warmup} warm-up; {profile.clients} clients in {profile.client_processes} processes for "
        f"{profile.throughput_seconds:g} s (500 ms) and {profile.saturated_seconds:g} s (0 ms); "
        f"1 + {profile.image_calls} calls per large image",
    }
    if "throughput" in sections:
        header["load client of the concurrency runs"] = (
            "lean client (bench/load_client.py: JSON-RPC over HTTP with httpx2, protocol 2025-11-25, no schema "
            "validation of results)"
            if args.load_client == "lean"
            else f"the SDK's `Client` (mode {args.mode})"
        )
    report = render(runs, header, sections)
    print(report)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(report)
    if args.json:
        args.json.write_text(json.dumps([{"values": run.values, "facts": run.facts} for run in runs], indent=2))
    return 1 if any(run.errors for run in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
