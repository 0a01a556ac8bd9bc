"""Prometheus metrics: values move as real calls succeed and fail; the stdio-mode metrics listener."""

from __future__ import annotations

import os
from pathlib import Path

import httpx2
import pytest
from gpt_image_mcp.metrics import (
    MAX_LABEL_VALUES,
    OTHER,
    Metrics,
    get_metrics,
    record_upstream_request,
    record_upstream_retry,
    set_metrics,
    start_metrics_listener,
    track_tool_call,
)
from mcp import Client, StdioServerParameters

from tests.http_support import (
    SCRIPT,
    call_tool,
    free_port,
    parse_metrics,
    rpc_message,
    sample,
    scrape,
    serve_app,
)


def test_metrics_follow_successful_and_failed_calls(fresh_metrics: Metrics) -> None:
    with serve_app() as app, httpx2.Client(timeout=60) as http:
        before = scrape(http, app.base)
        assert sample(before, "gpt_image_mcp_tool_calls_total") == 0

        ok = call_tool(http, app.base, "image_generate", {"prompt": "a boat", "n": 2, "size": "1024x1024"})
        assert not rpc_message(ok)["result"].get("isError")
        after_ok = scrape(http, app.base)
        labels = {"tool": "image_generate", "provider": "offline", "model": "gpt-image-2"}
        assert sample(after_ok, "gpt_image_mcp_tool_calls_total", outcome="ok", **labels) == 1
        assert sample(after_ok, "gpt_image_mcp_images_total", provider="offline", model="gpt-image-2") == 2
        image_bytes = sample(after_ok, "gpt_image_mcp_image_bytes_total", provider="offline")
        assert image_bytes > 2 * 10_000
        assert sample(after_ok, "gpt_image_mcp_tool_call_duration_seconds_count", tool="image_generate") == 1
        assert sample(after_ok, "gpt_image_mcp_tool_call_duration_seconds_sum", tool="image_generate") > 0
        assert sample(after_ok, "gpt_image_mcp_tool_calls_in_flight", tool="image_generate") == 0

        bad = call_tool(http, app.base, "image_generate", {"prompt": "a boat", "size": "1000x1000"})
        assert rpc_message(bad)["result"]["isError"]
        unknown_provider = call_tool(http, app.base, "image_generate", {"prompt": "x", "provider": "nope"})
        assert rpc_message(unknown_provider)["result"]["isError"]
        call_tool(http, app.base, "provider_list")
        validate_missing = call_tool(http, app.base, "provider_validate", {"provider": "nope"})
        assert rpc_message(validate_missing)["result"]["isError"]

        final = scrape(http, app.base)
        assert sample(final, "gpt_image_mcp_tool_calls_total", tool="image_generate", outcome="invalid_request") == 2
        assert sample(final, "gpt_image_mcp_tool_calls_total", tool="image_generate", outcome="ok") == 1
        assert sample(final, "gpt_image_mcp_images_total") == 2  # failures produced none
        assert sample(final, "gpt_image_mcp_image_bytes_total") == image_bytes
        assert sample(final, "gpt_image_mcp_tool_calls_total", tool="provider_list", outcome="ok") == 1
        assert sample(final, "gpt_image_mcp_tool_calls_total", tool="provider_validate", outcome="invalid_request") == 1
        assert sample(final, "gpt_image_mcp_tool_call_duration_seconds_count", tool="image_generate") == 3


def test_upstream_counters_for_provider_plugins(fresh_metrics: Metrics) -> None:
    record_upstream_request("openai", "ok")
    record_upstream_request("openai", "rate_limited")
    record_upstream_retry("openai", "rate_limited")
    record_upstream_retry("openai", "rate_limited")
    record_upstream_retry("azure", "timeout")
    text, content_type = fresh_metrics.exposition()
    samples = parse_metrics(text.decode())
    assert content_type.startswith("text/plain")
    assert sample(samples, "gpt_image_mcp_upstream_requests_total", provider="openai") == 2
    assert sample(samples, "gpt_image_mcp_upstream_retries_total", provider="openai", reason="rate_limited") == 2
    assert sample(samples, "gpt_image_mcp_upstream_retries_total", provider="azure", reason="timeout") == 1


@pytest.mark.anyio
async def test_tool_call_outcomes_exception_and_cancelled(fresh_metrics: Metrics) -> None:
    import anyio

    with pytest.raises(RuntimeError), track_tool_call("image_edit"):
        raise RuntimeError("boom")
    with anyio.move_on_after(0.01), track_tool_call("image_edit"):
        await anyio.sleep(5)
    assert fresh_metrics.value("gpt_image_mcp_tool_calls_total", _labels("image_edit", "exception")) == 1
    assert fresh_metrics.value("gpt_image_mcp_tool_calls_total", _labels("image_edit", "cancelled")) == 1
    assert fresh_metrics.value("gpt_image_mcp_tool_calls_in_flight", {"tool": "image_edit"}) == 0


def _labels(tool: str, outcome: str) -> dict[str, str]:
    return {"tool": tool, "provider": "unknown", "model": "unknown", "outcome": outcome}


def test_label_values_from_callers_are_bounded(fresh_metrics: Metrics) -> None:
    for index in range(MAX_LABEL_VALUES + 50):
        with track_tool_call("image_generate") as call:
            call.failed("invalid_request", provider="offline", model=f"made-up-model-{index}")
    samples = parse_metrics(fresh_metrics.exposition()[0].decode())
    models = {dict(labels)["model"] for (name, labels) in samples if name == "gpt_image_mcp_tool_calls_total"}
    assert len(models) == MAX_LABEL_VALUES + 1 and OTHER in models
    assert sample(samples, "gpt_image_mcp_tool_calls_total", model=OTHER) == 50


def test_each_metrics_object_has_its_own_registry() -> None:
    one, two = Metrics(), Metrics()
    one.rate_limited.inc()
    assert one.value("gpt_image_mcp_http_rate_limited_requests_total") == 1
    assert two.value("gpt_image_mcp_http_rate_limited_requests_total") == 0


def test_get_metrics_is_created_once() -> None:
    previous = set_metrics(None)
    try:
        assert get_metrics() is get_metrics()
    finally:
        set_metrics(previous)


def test_metrics_listener_serves_the_current_registry(fresh_metrics: Metrics) -> None:
    port = free_port()
    server = start_metrics_listener(port)
    try:
        fresh_metrics.rate_limited.inc(3)
        text = httpx2.get(f"http://127.0.0.1:{port}/metrics").text
    finally:
        server.shutdown()
        server.server_close()
    assert sample(parse_metrics(text), "gpt_image_mcp_http_rate_limited_requests_total") == 3


def test_metrics_listener_asks_for_the_metrics_key_and_serves_only_metrics(fresh_metrics: Metrics) -> None:
    from pydantic import SecretStr

    port = free_port()
    server = start_metrics_listener(port, api_key=SecretStr("metrics-key-0123456789"))
    base = f"http://127.0.0.1:{port}"
    try:
        missing = httpx2.get(f"{base}/metrics")
        wrong = httpx2.get(f"{base}/metrics", headers={"authorization": "Bearer nope"})
        right = httpx2.get(f"{base}/metrics", headers={"authorization": "Bearer metrics-key-0123456789"})
        elsewhere = httpx2.get(f"{base}/", headers={"authorization": "Bearer metrics-key-0123456789"})
    finally:
        server.shutdown()
        server.server_close()
    assert missing.status_code == 401 and missing.headers["www-authenticate"].startswith("Bearer")
    assert wrong.status_code == 401 and 'error="invalid_token"' in wrong.headers["www-authenticate"]
    assert right.status_code == 200 and "gpt_image_mcp_http_auth_failures_total" in right.text
    assert elsewhere.status_code == 404
    assert sample(parse_metrics(right.text), "gpt_image_mcp_http_auth_failures_total", endpoint="metrics") == 2


@pytest.mark.anyio
async def test_stdio_server_with_metrics_port(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "METRICS_PORT": str(port), "LOG_LEVEL": "warning", "PROVIDER": "offline"}
    params = StdioServerParameters(command=SCRIPT, args=[], env=env, cwd=tmp_path)
    async with Client(params) as client:
        await client.call_tool("provider_list", {})
        result = await client.call_tool("image_generate", {"prompt": "x", "size": "1024x1024", "output_format": "jpeg"})
        assert not result.is_error
        async with httpx2.AsyncClient() as http:
            text = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
    samples = parse_metrics(text)
    assert sample(samples, "gpt_image_mcp_tool_calls_total", tool="provider_list", outcome="ok") == 1
    assert sample(samples, "gpt_image_mcp_images_total", provider="offline") == 1
