"""Prometheus metrics: tool calls, images, tokens, HTTP guards and upstream retries.

All metrics live in a `Metrics` object with its own `CollectorRegistry` (never prometheus_client's global
one), so any number of servers can be built in one process, and tests can install a fresh object with
`set_metrics(Metrics())`. The process uses one current object (`get_metrics()`), created on first use:
`prometheus_client` is imported only then. It is served at `/metrics` over HTTP and, with `METRICS_PORT`,
by a metrics-only listener on 127.0.0.1 (`start_metrics_listener`).

Provider plugins report their upstream traffic with two functions:

    from gpt_image_mcp.metrics import record_upstream_request, record_upstream_retry
    record_upstream_request("openai", "ok")          # or "rate_limited", "timeout", "http_500"...
    record_upstream_retry("openai", "rate_limited")  # each retry, with why

Label values that come from callers (model names) are bounded: after `MAX_LABEL_VALUES` distinct values of
one label, new ones are counted as "other", so a client sending random model names cannot grow the
registry without bound.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry
    from pydantic import SecretStr

    from gpt_image_mcp.errors import ImageMCPError
    from gpt_image_mcp.types import ImageResult

NAMESPACE = "gpt_image_mcp"
DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0)
MAX_LABEL_VALUES = 100
MAX_LABEL_LENGTH = 80
UNKNOWN = "unknown"
OTHER = "other"


class _LabelGuard:
    """Caps the number of distinct values a label takes (thread-safe)."""

    def __init__(self, limit: int = MAX_LABEL_VALUES) -> None:
        self.limit = limit
        self.seen: dict[str, set[str]] = {}
        self.lock = threading.Lock()

    def __call__(self, label: str, value: str | None) -> str:
        text = (value or UNKNOWN).strip()[:MAX_LABEL_LENGTH] or UNKNOWN
        with self.lock:
            values = self.seen.setdefault(label, set())
            if text in values:
                return text
            if len(values) >= self.limit:
                return OTHER
            values.add(text)
            return text


class Metrics:
    """Every metric of the server, registered in a registry of its own."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry: CollectorRegistry = CollectorRegistry()
        self.label = _LabelGuard()
        common: dict[str, Any] = {"namespace": NAMESPACE, "registry": self.registry}
        self.tool_calls = Counter(
            "tool_calls",
            "MCP tool calls by tool, provider, model and outcome (ok, an error code, exception, cancelled).",
            ["tool", "provider", "model", "outcome"],
            **common,
        )
        self.tool_call_duration = Histogram(
            "tool_call_duration_seconds",
            "Duration of MCP tool calls.",
            ["tool", "provider"],
            buckets=DURATION_BUCKETS,
            **common,
        )
        self.tool_calls_in_flight = Gauge(
            "tool_calls_in_flight", "MCP tool calls being served right now.", ["tool"], **common
        )
        self.images = Counter("images", "Images produced.", ["provider", "model"], **common)
        self.image_bytes = Counter("image_bytes", "Bytes of images produced.", ["provider", "model"], **common)
        self.usage_tokens = Counter(
            "usage_tokens",
            "Tokens used upstream, as reported by the provider.",
            ["provider", "model", "kind"],
            **common,
        )
        self.rate_limited = Counter(
            "http_rate_limited_requests", "HTTP requests refused by the rate limit (429).", **common
        )
        self.auth_failures = Counter(
            "http_auth_failures", "HTTP requests refused for a missing or wrong key (401).", ["endpoint"], **common
        )
        self.upstream_requests = Counter(
            "upstream_requests", "Requests sent to upstream providers, by outcome.", ["provider", "outcome"], **common
        )
        self.upstream_retries = Counter(
            "upstream_retries", "Retries of upstream requests, by reason.", ["provider", "reason"], **common
        )

    def exposition(self) -> tuple[bytes, str]:
        """The metrics in the Prometheus text format, and its content type."""
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    def value(self, name: str, labels: dict[str, str] | None = None) -> float:
        """Current value of one sample (0 when absent), e.g. value("gpt_image_mcp_images_total")."""
        sample = self.registry.get_sample_value(name, labels or {})
        return sample if sample is not None else 0.0

    def tool_call(self, tool: str) -> ToolCall:
        return ToolCall(self, tool)


class ToolCall:
    """Measures one tool call. Use as a context manager and call `succeeded` or `failed` inside it.

    Leaving the block without either records the outcome "exception" (or "cancelled").
    """

    def __init__(self, metrics: Metrics, tool: str) -> None:
        self.metrics = metrics
        self.tool = metrics.label("tool", tool)
        self.provider: str | None = None
        self.outcome: str | None = None
        self.start = 0.0

    def __enter__(self) -> ToolCall:
        self.start = time.perf_counter()
        self.metrics.tool_calls_in_flight.labels(self.tool).inc()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.metrics.tool_calls_in_flight.labels(self.tool).dec()
        if self.outcome is None:
            self._count(_outcome_of(exc), None, None)
        provider = self.metrics.label("provider", self.provider)
        self.metrics.tool_call_duration.labels(self.tool, provider).observe(time.perf_counter() - self.start)

    def succeeded(self, result: ImageResult | None = None, *, provider: str | None = None) -> None:
        """Count a successful call; with an image result, also its images, bytes and tokens."""
        if result is None:
            self._count("ok", provider, None)
            return
        self._count("ok", result.provider, result.model)
        label = self.metrics.label
        provider_label, model_label = label("provider", result.provider), label("model", result.model)
        self.metrics.images.labels(provider_label, model_label).inc(len(result.images))
        self.metrics.image_bytes.labels(provider_label, model_label).inc(sum(len(i.data) for i in result.images))
        if result.usage is not None:
            for kind in ("input_tokens", "output_tokens"):
                tokens = getattr(result.usage, kind, None)
                if isinstance(tokens, int) and tokens > 0:
                    self.metrics.usage_tokens.labels(provider_label, model_label, kind.split("_")[0]).inc(tokens)

    def failed(self, error: ImageMCPError | str, *, provider: str | None = None, model: str | None = None) -> None:
        """Count a failed call: an `ImageMCPError` (its code, provider and model) or an outcome name."""
        if isinstance(error, str):
            self._count(error, provider, model)
        else:
            self._count(error.code, provider or error.provider, model or error.model)

    def _count(self, outcome: str, provider: str | None, model: str | None) -> None:
        label = self.metrics.label
        self.outcome = outcome
        self.provider = provider or self.provider
        self.metrics.tool_calls.labels(
            self.tool, label("provider", self.provider), label("model", model), label("outcome", outcome)
        ).inc()


def _outcome_of(exc: BaseException | None) -> str:
    if exc is None:
        return "ok"
    import anyio

    try:
        cancelled = anyio.get_cancelled_exc_class()
    except Exception:  # no async backend running (called from sync code)
        cancelled = None
    if (cancelled is not None and isinstance(exc, cancelled)) or isinstance(exc, KeyboardInterrupt):
        return "cancelled"
    return "exception"


# -- the process's current metrics -----------------------------------------------------------------------

_current: Metrics | None = None
_current_lock = threading.Lock()


def get_metrics() -> Metrics:
    """The current metrics object, created on first use."""
    global _current
    if _current is None:
        with _current_lock:
            if _current is None:
                _current = Metrics()
    return _current


def set_metrics(metrics: Metrics | None) -> Metrics | None:
    """Install `metrics` as the current object (None: a fresh one on next use); returns the previous one."""
    global _current
    with _current_lock:
        previous, _current = _current, metrics
    return previous


def track_tool_call(tool: str) -> ToolCall:
    """`with track_tool_call("image_generate") as call: ...; call.succeeded(result)`."""
    return get_metrics().tool_call(tool)


def record_upstream_request(provider: str, outcome: str = "ok") -> None:
    """Count one request sent upstream, with its outcome ("ok", "rate_limited", "timeout", "http_503"...)."""
    metrics = get_metrics()
    metrics.upstream_requests.labels(metrics.label("provider", provider), metrics.label("outcome", outcome)).inc()


def record_upstream_retry(provider: str, reason: str) -> None:
    """Count one retry of an upstream request and why ("rate_limited", "timeout", "http_502"...)."""
    metrics = get_metrics()
    metrics.upstream_retries.labels(metrics.label("provider", provider), metrics.label("reason", reason)).inc()


def record_rate_limited() -> None:
    get_metrics().rate_limited.inc()


def record_auth_failure(endpoint: str) -> None:
    get_metrics().auth_failures.labels(endpoint).inc()


def start_metrics_listener(port: int, host: str = "127.0.0.1", api_key: SecretStr | None = None) -> Any:
    """Serve the current metrics on http://host:port/metrics from daemon threads; returns the server object.

    With `api_key` (METRICS_API_KEY) a scrape must send `Authorization: Bearer <key>`, as on the HTTP transport's
    /metrics; any other path is 404.
    """
    from socketserver import ThreadingMixIn
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

    from prometheus_client import make_wsgi_app

    from gpt_image_mcp.auth import BearerKey, bearer_token, challenge

    exposition = make_wsgi_app(get_metrics().registry)
    key = BearerKey.optional(api_key)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != "/metrics":
            start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
            return [b"metrics are at /metrics\n"]
        authorization = environ.get("HTTP_AUTHORIZATION")
        token = bearer_token(authorization.encode("latin-1") if authorization else None)
        if key is not None and not key.matches(token):
            record_auth_failure("metrics")
            headers = [
                ("Content-Type", "text/plain; charset=utf-8"),
                ("WWW-Authenticate", challenge(token is not None)),
            ]
            start_response("401 Unauthorized", headers)
            return [b"METRICS_API_KEY is required: Authorization: Bearer <key>\n"]
        return exposition(environ, start_response)

    class Server(ThreadingMixIn, WSGIServer):
        daemon_threads = True

    class QuietHandler(WSGIRequestHandler):
        timeout = 10  # seconds a connection may idle: idle connections must not pile up threads

        def log_message(self, format: str, *args: Any) -> None:  # stderr is for the server's own log lines
            pass

    server = make_server(host, port, app, Server, handler_class=QuietHandler)
    threading.Thread(target=server.serve_forever, name="metrics-listener", daemon=True).start()
    return server
