"""Streamable HTTP transport: /mcp, /metrics and /health/*, guarded, served by uvicorn.

Every HTTP request passes `GuardMiddleware` (outermost), which in this order:

1. gives the request an id (a sane incoming `X-Request-ID`, else a new one), puts it in the logging context
   and sends it back as `X-Request-ID`;
2. lets /health/live and /health/ready through untouched (probes carry no key);
3. checks /metrics against `METRICS_API_KEY` (open when unset);
4. checks every other path (/mcp) against `MCP_API_KEY` (see `gpt_image_mcp.auth`): 401 with
   `WWW-Authenticate: Bearer`;
5. for POSTs, reads the body up to `MAX_REQUEST_BYTES` (larger: 413, judged on Content-Length when sent, so a
   huge upload is refused before it is read), counts the `tools/call` requests in it and charges them to the
   client's rate limit (see `gpt_image_mcp.ratelimit`): 429 with `Retry-After` and a JSON-RPC error body;
6. hands the request, body replayed, to the SDK's Streamable HTTP app, which checks Host and Origin
   (DNS-rebinding protection: 421 / 403) with `transport_security()` and the same body cap.

Shutdown: SIGTERM or SIGINT stops accepting connections, lets requests in flight finish for up to
`SHUTDOWN_GRACE_SECONDS`, cancels the rest, closes the MCP sessions and exits with status 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import logging
import os
import re
import signal
import socket
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gpt_image_mcp.auth import BearerKey, bearer_token, challenge, token_fingerprint
from gpt_image_mcp.logs import request_id_var
from gpt_image_mcp.metrics import get_metrics, record_auth_failure, record_rate_limited
from gpt_image_mcp.ratelimit import (
    NAMESPACE,
    FollowUpRounds,
    IPNetwork,
    ToolCallRateLimiter,
    client_address,
    count_tool_calls,
    parse_networks,
    rate_limited_body,
)
from gpt_image_mcp.service import ImageService
from gpt_image_mcp.settings import Settings

if TYPE_CHECKING:
    import uvicorn

logger = logging.getLogger(__name__)

MCP_PATH = "/mcp"
METRICS_PATH = "/metrics"
OPEN_PATHS = frozenset({"/health/live", "/health/ready"})
LOOPBACK_HOSTS = ["127.0.0.1:*", "localhost:*", "[::1]:*"]
LOOPBACK_ORIGINS = ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,64}$")


def readiness_problems(service: ImageService) -> list[str]:
    """Why the server cannot serve real calls yet (empty when ready): a provider it uses (the default one and the
    others of PROVIDER / FALLBACK_PROVIDERS) that is not configured or whose default model it cannot serve, a
    default sink that is missing or not configured."""
    from gpt_image_mcp.errors import ImageMCPError
    from gpt_image_mcp.secrets_mask import mask_secrets

    problems = []
    for provider in service.providers.values():
        problems += [f"{provider.name}: {problem}" for problem in provider.configuration_problems()]
        try:
            service.resolve_model(provider, None, quiet=True)
        except ImageMCPError as exc:
            problems.append(f"{provider.name}: its default model cannot be used (DEFAULT_MODEL?): {exc.message}")
    for name in service.settings.default_sinks:
        sink = service.registry.sinks.get(name)
        if sink is None:
            problems.append(
                f"DEFAULT_SINKS names {name!r}, which is not installed ({', '.join(service.registry.sinks)})"
            )
        else:
            problems += [f"sink {name}: {problem}" for problem in sink.configuration_problems()]
    # Probes see these without a key: never a value, whatever a plugin put in its text.
    return [mask_secrets(problem) for problem in problems]


def readiness_warnings(service: ImageService) -> list[str]:
    """What is wrong but does not stop the server from serving: plugins that failed and were skipped (one that
    was needed stops the start instead), an image store that cannot be written (images are kept in memory)."""
    warnings = [
        f"plugin {info.name} failed and was skipped: {info.error}" for info in service.registry.failed_plugins()
    ]
    if service.store.folder_problem:
        warnings.append(f"{service.store.folder_problem}: images are kept in {service.store.folder} (temporary)")
    if service.store.write_problem:
        warnings.append(f"{service.store.write_problem}; new images are kept in memory only")
    from gpt_image_mcp.secrets_mask import mask_secrets

    return [mask_secrets(warning) for warning in warnings]


def is_loopback(host: str) -> bool:
    """Whether binding to `host` keeps the server on this machine."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def transport_security(settings: Settings) -> TransportSecuritySettings | None:
    """Host/Origin checks for /mcp. None keeps the SDK default (checks on for loopback binds, off otherwise).

    With ALLOWED_HOSTS / ALLOWED_ORIGINS set, checks are on with those values, plus the loopback names when the
    server is bound to loopback (e.g. behind a reverse proxy on the same machine that sends its public Host).
    """
    from gpt_image_mcp.errors import ConfigurationError

    if not settings.allowed_hosts and not settings.allowed_origins:
        return None
    loopback = is_loopback(settings.host)
    hosts = _with_bare_names([*settings.allowed_hosts, *(LOOPBACK_HOSTS if loopback else [])])
    origins = _with_bare_names([*settings.allowed_origins, *(LOOPBACK_ORIGINS if loopback else [])])
    if not hosts:
        raise ConfigurationError(
            "ALLOWED_ORIGINS is set but ALLOWED_HOSTS is empty, so every request would be refused: list the host "
            "names clients use to reach this server in ALLOWED_HOSTS (e.g. mcp.example.com or mcp.example.com:*)"
        )
    return TransportSecuritySettings(enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins)


def _with_bare_names(entries: list[str]) -> list[str]:
    """Lower-cased entries, each `name:*` also as `name`: "any port" includes none (a proxy on 80/443 sends none)."""
    names = [entry.strip().lower() for entry in entries if entry.strip()]
    return list(dict.fromkeys([*names, *(name[:-2] for name in names if name.endswith(":*"))]))


def _header(scope: Scope, name: bytes) -> bytes | None:
    return next((value for key, value in scope["headers"] if key == name), None)


def _json(status: int, body: dict[str, Any] | bytes, headers: dict[str, str] | None = None) -> Response:
    if isinstance(body, bytes):
        return Response(body, status_code=status, headers=headers, media_type="application/json")
    return JSONResponse(body, status_code=status, headers=headers)


class BodyTooLarge(Exception):
    pass


async def _read_body(receive: Receive, limit: int) -> bytes:
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] != "http.request":  # client went away
            break
        body.extend(message.get("body", b""))
        if len(body) > limit:
            raise BodyTooLarge
        if not message.get("more_body", False):
            break
    return bytes(body)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


class InFlight:
    """How many MCP POST requests are being served (one event loop: no lock needed)."""

    def __init__(self) -> None:
        self.count = 0
        self._idle: asyncio.Event | None = None

    @contextlib.contextmanager
    def track(self) -> Iterator[None]:
        self.count += 1
        try:
            yield
        finally:
            self.count -= 1
            if not self.count and self._idle is not None:
                self._idle.set()

    async def wait_idle(self) -> None:
        """Return once no request is in flight."""
        while self.count:
            self._idle = asyncio.Event()
            await self._idle.wait()


class GuardMiddleware:
    """Request id, bearer keys, body cap and tool-call rate limit in front of the app (see module docstring)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        api_key: BearerKey | None,
        metrics_key: BearerKey | None,
        limiter: ToolCallRateLimiter | None,
        max_body_bytes: int,
        session_limiter: ToolCallRateLimiter | None = None,
        trusted_proxies: Sequence[IPNetwork] = (),
        in_flight: InFlight | None = None,
    ) -> None:
        self.app = app
        self.in_flight = in_flight or InFlight()
        self.api_key = api_key
        self.metrics_key = metrics_key
        self.limiter = limiter
        self.session_limiter = session_limiter
        self.follow_ups = FollowUpRounds()
        self.max_body_bytes = max_body_bytes
        self.trusted_proxies = tuple(trusted_proxies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # Host names are case-insensitive; the SDK's Host/Origin checks compare exactly.
        scope = {**scope, "headers": [(k, v.lower() if k in (b"host", b"origin") else v) for k, v in scope["headers"]]}
        incoming = (_header(scope, b"x-request-id") or b"").decode("latin-1")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex[:16]
        token = request_id_var.set(request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (b"x-request-id", request_id.encode())]}
            await send(message)

        try:
            await self._dispatch(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        if path in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        authorization = _header(scope, b"authorization")
        token = bearer_token(authorization)
        if path == METRICS_PATH:
            if self.metrics_key is not None and not self.metrics_key.matches(token):
                await self._unauthorized(scope, receive, send, "metrics", authorization is not None)
                return
            await self.app(scope, receive, send)
            return
        if self.api_key is not None and not self.api_key.matches(token):
            await self._unauthorized(scope, receive, send, "mcp", authorization is not None)
            return
        if scope["method"] != "POST":
            await self.app(scope, receive, send)
            return

        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            await self._too_large(scope, receive, send)
            return
        try:
            body = await _read_body(receive, self.max_body_bytes)
        except BodyTooLarge:
            await self._too_large(scope, receive, send)
            return
        refusal = await self._rate_limit(body, scope, token)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        with self.in_flight.track():
            await self.app(scope, _replay(body, receive), send)

    async def _rate_limit(self, body: bytes, scope: Scope, token: bytes | None) -> Response | None:
        """The 429 for a body beyond its client's limit on new sessions or on tool calls; None lets it through."""
        calls = count_tool_calls(body)
        if not (calls.count or calls.sessions):
            return None
        client = self._client(scope, token)
        cost = calls.count - self.follow_ups.free_rounds(client, calls.states) if calls.count else 0
        for limiter, amount in ((self.session_limiter, calls.sessions), (self.limiter, cost)):
            if limiter is None or not amount:
                continue
            decision = await limiter.acquire(client, amount)
            if decision.allowed:
                continue
            wait = decision.retry_after
            record_rate_limited()
            logger.warning("Rate limit: refused %d %s from %s; retry after %d s", amount, limiter.what, client, wait)
            refused = rate_limited_body(calls, limiter.limit, limiter.window_seconds, wait, limiter.what)
            return _json(429, refused, {"Retry-After": str(wait)})
        return None

    def _client(self, scope: Scope, token: bytes | None) -> str:
        if self.api_key is not None and token is not None:  # verified above
            return f"key:{token_fingerprint(token)}"
        peer = scope.get("client")
        forwarded = [value.decode("latin-1") for key, value in scope["headers"] if key == b"x-forwarded-for"]
        return "ip:" + client_address(peer[0] if peer else None, forwarded, self.trusted_proxies)

    async def _unauthorized(self, scope: Scope, receive: Receive, send: Send, endpoint: str, presented: bool) -> None:
        record_auth_failure(endpoint)
        peer = scope.get("client")
        logger.warning(
            "Refused %s %s from %s: %s bearer key",
            scope["method"],
            scope["path"],
            peer[0] if peer else "?",
            "wrong" if presented else "missing",
        )
        variable = "METRICS_API_KEY" if endpoint == "metrics" else "MCP_API_KEY"
        body = {
            "error": "invalid_token" if presented else "unauthorized",
            "error_description": f"send the key configured in {variable} as 'Authorization: Bearer <key>'",
        }
        await _json(401, body, {"WWW-Authenticate": challenge(presented)})(scope, receive, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        logger.warning("Refused %s %s: body larger than %d bytes", scope["method"], scope["path"], self.max_body_bytes)
        body = {
            "jsonrpc": "2.0",
            "id": None,
            "error": {
                "code": -32600,
                "message": f"Request body too large: the limit is {self.max_body_bytes} bytes (MAX_REQUEST_BYTES)",
            },
        }
        await _json(413, body, {"Connection": "close"})(scope, receive, send)


def _warn_about_exposure(settings: Settings) -> None:
    if is_loopback(settings.host):
        return
    if settings.mcp_api_key is None:
        logger.warning(
            "!!! SECURITY WARNING: listening on %s without MCP_API_KEY: anyone who can reach this port can "
            "generate images on your account. Set MCP_API_KEY (or MCP_API_KEY_FILE), or bind to 127.0.0.1. !!!",
            settings.host,
        )
    if not settings.allowed_hosts:
        logger.warning(
            "Listening on %s without ALLOWED_HOSTS: Host/Origin (DNS-rebinding) checks are off. Set ALLOWED_HOSTS "
            "(and ALLOWED_ORIGINS for browser clients) to the names clients use.",
            settings.host,
        )
    if settings.metrics_api_key is None:
        logger.info("/metrics is open (no METRICS_API_KEY)")


def build_http_app(server: MCPServer, service: ImageService, settings: Settings) -> Starlette:
    """The ASGI app: MCP at /mcp, /metrics and /health/live, /health/ready beside it, all behind the guard."""

    @server.custom_route("/health/live", methods=["GET"])
    async def live(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    @server.custom_route("/health/ready", methods=["GET"])
    async def ready(request: Request) -> JSONResponse:
        problems = readiness_problems(service)
        body = {
            "status": "ready" if not problems else "not_ready",
            "provider": service.default_provider,
            "providers": list(service.providers),
            "problems": problems,
            "warnings": readiness_warnings(service),
        }
        return JSONResponse(body, status_code=200 if not problems else 503)

    @server.custom_route(METRICS_PATH, methods=["GET"])
    async def metrics(request: Request) -> Response:
        content, content_type = get_metrics().exposition()
        return Response(content, media_type=content_type)

    app = server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        host=settings.host,
        transport_security=transport_security(settings),
        max_request_body_size=settings.max_request_bytes,
        stateless_http=settings.http_stateless,
        json_response=settings.http_json_response,
        max_sessions=settings.max_sessions,
        session_idle_timeout=settings.session_idle_timeout_seconds,
    )
    storage = settings.rate_limit_storage_uri.get_secret_value()
    window = settings.rate_limit_window_seconds
    limiter = ToolCallRateLimiter(settings.max_requests_per_minute, window, storage)
    sessions = (
        None  # stateless: initialize opens no session
        if settings.http_stateless
        else ToolCallRateLimiter(
            settings.max_sessions_per_minute, window, storage, what="new sessions", namespace=f"{NAMESPACE}:sessions"
        )
    )
    app.state.in_flight = InFlight()
    app.add_middleware(
        GuardMiddleware,
        in_flight=app.state.in_flight,
        api_key=BearerKey.optional(settings.mcp_api_key),
        metrics_key=BearerKey.optional(settings.metrics_api_key),
        limiter=limiter,
        session_limiter=sessions,
        max_body_bytes=settings.max_request_bytes,
        trusted_proxies=parse_networks(settings.trusted_proxies),
    )
    _warn_about_exposure(settings)
    return app


def uvicorn_config(app: ASGIApp, settings: Settings, **overrides: Any) -> uvicorn.Config:
    """The uvicorn configuration for `app`. X-Forwarded-For is handled by the guard (TRUSTED_PROXIES), so
    uvicorn's own proxy-header rewriting, which trusts 127.0.0.1 by default, is off."""
    import uvicorn

    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level,
        "lifespan": "on",
        "log_config": None,
        "proxy_headers": False,
        "server_header": False,
        # One line per request only when debugging (uvicorn's log level would bring them back at info).
        "access_log": settings.log_level == "debug",
        "timeout_graceful_shutdown": settings.shutdown_grace_seconds,
    }
    options.update(overrides)
    return uvicorn.Config(app, **options)


def graceful_server(config: uvicorn.Config, in_flight: InFlight | None = None) -> uvicorn.Server:
    """A uvicorn server with a shutdown that keeps the promises of the module docstring.

    - After SIGTERM/SIGINT it returns instead of re-raising the signal (uvicorn's default), so the process
      ends with status 0 and the caller's cleanup runs.
    - SSE streams: sse-starlette (used by the SDK) closes every SSE stream as soon as uvicorn is asked to
      exit, which would cut the streamed answers of calls still in flight (handshake-era POSTs). When this
      server owns the process's signals, that automatic drain is turned off; once no MCP POST is in flight
      (or the grace period is over), the remaining streams (idle GET streams) are released, so shutdown
      waits for real work only.
    """
    import uvicorn

    class GracefulServer(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            if threading.current_thread() is not threading.main_thread():
                yield
                return
            handled = (signal.SIGINT, signal.SIGTERM)
            original: dict[int, Callable[..., Any] | int | None] = {
                sig: signal.signal(sig, self.handle_exit) for sig in handled
            }
            app_status = _sse_app_status()
            if app_status is not None:
                app_status.disable_automatic_graceful_drain()
            try:
                yield
            finally:
                for sig, handler in original.items():
                    signal.signal(sig, handler)
                if app_status is not None:
                    app_status.should_exit = False
                    app_status.enable_automatic_graceful_drain_mode()
            if self._captured_signals:
                logger.info("Stopped after %s", ", ".join(signal.Signals(s).name for s in self._captured_signals))

        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            release = None
            if threading.current_thread() is threading.main_thread():
                release = asyncio.ensure_future(self._release_streams_when_idle())
            try:
                await super().shutdown(sockets=sockets)
            finally:
                if release is not None:
                    release.cancel()

        async def _release_streams_when_idle(self) -> None:
            loop = asyncio.get_running_loop()
            grace = self.config.timeout_graceful_shutdown
            deadline = loop.time() + (grace if grace is not None else 3600)
            busy = in_flight.count if in_flight is not None else 0
            if busy:
                logger.info("Shutting down: waiting for %d request(s) in flight (at most %s s)", busy, grace)
            if in_flight is not None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(in_flight.wait_idle(), timeout=max(0.0, deadline - loop.time()))
            app_status = _sse_app_status()
            if app_status is not None:
                app_status.should_exit = True

    return GracefulServer(config)


def _sse_app_status() -> Any:
    try:
        from sse_starlette.sse import AppStatus
    except ImportError:  # the SDK no longer streams with sse-starlette: nothing to coordinate
        return None
    return AppStatus


def run_http(server: MCPServer, service: ImageService, settings: Settings) -> None:
    """Serve until SIGTERM/SIGINT, then close the providers' clients in the same event loop they were made in."""
    import asyncio

    check_bindable(settings.host, settings.port)
    app = build_http_app(server, service, settings)
    logger.info("Serving MCP on http://%s:%d%s", settings.host, settings.port, MCP_PATH)
    uv_server = graceful_server(uvicorn_config(app, settings), app.state.in_flight)

    async def serve() -> None:
        try:
            await uv_server.serve()
        finally:
            await service.aclose()

    asyncio.run(serve())


def check_bindable(host: str, port: int) -> None:
    """`ConfigurationError` (exit 2, one line) when `host:port` cannot be listened on: a port in use, an address
    that is not this machine's, a name that does not resolve. uvicorn would log a traceback-like error instead,
    after announcing the server, and exit 3."""
    from gpt_image_mcp.errors import ConfigurationError

    where = f"HOST {host} / PORT {port}"
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ConfigurationError(f"{where}: cannot resolve {host!r}: {exc.strerror}") from None
    for family, kind, proto, _, address in dict.fromkeys(addresses):
        with socket.socket(family, kind, proto) as probe:
            if os.name != "nt":
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
            if family == socket.AF_INET6 and hasattr(socket, "IPV6_V6ONLY"):
                probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)  # as asyncio binds "::"
            try:
                probe.bind(address)
            except OSError as exc:
                hint = " (another server is listening there: stop it or choose another PORT)"
                reason = exc.strerror or str(exc)
                raise ConfigurationError(f"{where}: {reason}{hint if exc.errno == errno.EADDRINUSE else ''}") from None


def run_in_thread(app: ASGIApp, settings: Settings, sock: socket.socket) -> tuple[uvicorn.Server, threading.Thread]:
    """Serve `app` on an already-bound socket from a background thread (tests, embedding).

    Returns the server (set `should_exit = True` to stop it) and the thread; returns once it accepts requests.
    """
    import time

    # asyncio sets TCP_NODELAY only on connections of sockets made with proto=IPPROTO_TCP; a caller's
    # socket.socket() has proto 0, and Nagle's algorithm plus delayed ACKs then add ~40 ms to each answer.
    # Accepted connections inherit the option from the listening socket.
    if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.type == socket.SOCK_STREAM:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    uv_server = graceful_server(uvicorn_config(app, settings), getattr(getattr(app, "state", None), "in_flight", None))
    thread = threading.Thread(target=uv_server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not uv_server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the HTTP server did not start")
        time.sleep(0.01)
    return uv_server, thread
