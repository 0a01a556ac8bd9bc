"""Retries: what is retried, how long each wait is, what the caller and the logs are told."""

from __future__ import annotations

import email.utils
import logging
import time

import anyio
import pytest
from gpt_image_mcp.errors import (
    RateLimitedError,
    UpstreamTimeoutError,
    UpstreamUnavailableError,
)
from gpt_image_mcp.types import GenerateRequest
from gpt_image_mcp_openai import OpenAIProvider, QuotaExhaustedError
from werkzeug import Request, Response

pytestmark = pytest.mark.anyio

PATH = "/v1/images/generations"
PROMPT = "a very long and private prompt about a lighthouse at dusk " * 3


def request() -> GenerateRequest:
    return GenerateRequest(model="gpt-image-2", prompt=PROMPT)


def error_body(message: str, code: str | None = None, kind: str = "invalid_request_error") -> dict:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def rate_limited(server, headers: dict[str, str] | None = None, code: str = "rate_limit_exceeded") -> None:
    server.expect_ordered_request(PATH).respond_with_json(
        error_body("Rate limit reached for images per minute.", code, "requests"), status=429, headers=headers
    )


def succeed(server, response_body, images) -> None:
    server.expect_ordered_request(PATH).respond_with_json(response_body(images.png()))


async def test_429_with_retry_after_waits_exactly_that_long_then_succeeds(
    openai_env, provider, progress, sleeps, response_body, images, caplog
) -> None:
    caplog.set_level(logging.INFO, logger="gpt_image_mcp_openai")
    rate_limited(openai_env, {"Retry-After": "2", "x-request-id": "req_429"})
    succeed(openai_env, response_body, images)

    result = await provider.generate(request(), progress)

    assert len(result.images) == 1
    assert len(openai_env.log) == 2
    assert sleeps.waits == [2.0]
    assert "openai failed with rate_limited (HTTP 429); retry 1 of 3 in 2 s" in progress.stages
    retry_logs = [r for r in caplog.records if r.name == "gpt_image_mcp_openai" and r.levelno == logging.INFO]
    assert [r.getMessage() for r in retry_logs] == [
        "openai call failed with rate_limited (HTTP 429); retry 1 of 3 in 2.00 s"
    ]
    assert PROMPT.strip() not in caplog.text


async def test_progress_is_told_before_the_wait_starts(openai_env, progress, response_body, images) -> None:
    seen_when_sleeping: list[list[str]] = []

    async def sleep(seconds: float) -> None:
        seen_when_sleeping.append(list(progress.stages))

    rate_limited(openai_env, {"Retry-After": "1"})
    succeed(openai_env, response_body, images)

    await OpenAIProvider(sleep=sleep).generate(request(), progress)

    assert len(seen_when_sleeping) == 1
    assert any("retry 1 of 3 in 1 s" in stage for stage in seen_when_sleeping[0])


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after-ms": "1500"}, 1.5),
        ({"retry-after-ms": "250", "Retry-After": "9"}, 0.25),  # the precise header wins
        ({"Retry-After": "0.5"}, 0.5),
    ],
)
async def test_retry_after_variants(openai_env, provider, progress, sleeps, response_body, images, headers, expected):
    rate_limited(openai_env, headers)
    succeed(openai_env, response_body, images)

    await provider.generate(request(), progress)

    assert sleeps.waits == [expected]


async def test_retry_after_as_http_date(openai_env, provider, progress, sleeps, response_body, images) -> None:
    rate_limited(openai_env, {"Retry-After": email.utils.formatdate(time.time() + 30, usegmt=True)})
    succeed(openai_env, response_body, images)

    await provider.generate(request(), progress)

    assert len(sleeps.waits) == 1
    assert 27 <= sleeps.waits[0] <= 31


async def test_retry_after_beyond_the_cap_is_not_waited_for(
    openai_env, provider, progress, sleeps, monkeypatch
) -> None:
    monkeypatch.setenv("RETRY_MAX_WAIT", "5")
    rate_limited(openai_env, {"Retry-After": "120", "x-request-id": "req_long"})

    with pytest.raises(RateLimitedError) as info:
        await provider.generate(request(), progress)

    assert len(openai_env.log) == 1
    assert sleeps.waits == []
    assert info.value.retry_after == 120
    assert info.value.retryable
    assert info.value.http_status == 429
    assert info.value.request_id == "req_long"
    assert "Wait about 120 s before trying again" in info.value.message


async def test_429_without_retry_after_backs_off_exponentially_with_jitter_then_gives_up(
    openai_env, provider, progress, sleeps, monkeypatch
) -> None:
    monkeypatch.setenv("RETRY_BACKOFF_BASE", "1")
    monkeypatch.setenv("RETRY_MAX_WAIT", "3")
    openai_env.expect_request(PATH).respond_with_json(
        error_body("Rate limit reached.", "rate_limit_exceeded"), status=429
    )

    with pytest.raises(RateLimitedError) as info:
        await provider.generate(request(), progress)

    assert len(openai_env.log) == 4  # the first attempt and MAX_RETRIES (3) retries
    first, second, third = sleeps.waits
    assert 0.5 <= first <= 1
    assert 1 <= second <= 2
    assert 1.5 <= third <= 3  # capped by RETRY_MAX_WAIT
    assert "Gave up after 4 attempts" in info.value.message
    assert info.value.retry_after is not None and 0 < info.value.retry_after <= 3
    assert f"Wait about {info.value.retry_after:.0f} s" in info.value.message


async def test_500_every_time_gives_a_retryable_unavailable_error(
    openai_env, provider, progress, sleeps, monkeypatch
) -> None:
    monkeypatch.setenv("MAX_RETRIES", "2")
    openai_env.expect_request(PATH).respond_with_json(
        error_body("The server had an error while processing your request.", None, "server_error"),
        status=500,
        headers={"x-request-id": "req_500"},
    )

    with pytest.raises(UpstreamUnavailableError) as info:
        await provider.generate(request(), progress)

    assert len(openai_env.log) == 3
    assert len(sleeps.waits) == 2
    error = info.value
    assert error.retryable
    assert (error.http_status, error.request_id, error.provider, error.model) == (
        500,
        "req_500",
        "openai",
        "gpt-image-2",
    )
    assert "server error (HTTP 500)" in error.message
    assert "Gave up after 3 attempts" in error.message
    assert error.to_dict()["code"] == "upstream_unavailable"


@pytest.mark.parametrize("status", [502, 503, 504])
async def test_gateway_errors_are_retried(openai_env, provider, progress, sleeps, response_body, images, status):
    openai_env.expect_ordered_request(PATH).respond_with_data("bad gateway", status=status)
    succeed(openai_env, response_body, images)

    result = await provider.generate(request(), progress)

    assert len(result.images) == 1
    assert len(openai_env.log) == 2


async def test_max_retries_zero_makes_one_attempt(openai_env, provider, progress, sleeps, monkeypatch) -> None:
    monkeypatch.setenv("MAX_RETRIES", "0")
    openai_env.expect_request(PATH).respond_with_data("unavailable", status=503)

    with pytest.raises(UpstreamUnavailableError) as info:
        await provider.generate(request(), progress)

    assert len(openai_env.log) == 1
    assert sleeps.waits == []
    assert "Gave up" not in info.value.message


async def test_quota_exhausted_429_is_not_retried(openai_env, provider, progress, sleeps) -> None:
    rate_limited(openai_env, code="insufficient_quota")

    with pytest.raises(QuotaExhaustedError) as info:
        await provider.generate(request(), progress)

    assert len(openai_env.log) == 1
    assert info.value.code == "rate_limited"
    assert info.value.retryable is False
    assert info.value.to_dict()["retryable"] is False
    assert "billing" in info.value.message


async def test_timeouts_are_retried_and_reported(openai_env, progress, sleeps, monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_TIMEOUT", "0.2")
    monkeypatch.setenv("MAX_RETRIES", "1")

    def slow(_: Request) -> Response:
        time.sleep(0.5)
        return Response("{}", content_type="application/json")

    openai_env.expect_request(PATH).respond_with_handler(slow)

    with pytest.raises(UpstreamTimeoutError) as info:
        await OpenAIProvider(sleep=sleeps).generate(request(), progress)

    assert len(sleeps.waits) == 1  # one retry happened
    # The single-threaded fake is still busy with the abandoned requests: let it finish both here, so
    # none of them spills into the next test's log.
    with anyio.fail_after(10):
        while len(openai_env.log) < 2:  # noqa: ASYNC110 - the log is filled by the server thread
            await anyio.sleep(0.05)
    assert info.value.retryable
    assert "did not answer within 0.2 s" in info.value.message
    assert "OPENAI_TIMEOUT" in info.value.message


async def test_connection_refused_is_retried_then_unavailable(progress, sleeps, monkeypatch, api_key) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", api_key)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")  # discard port: nothing listens
    monkeypatch.setenv("MAX_RETRIES", "2")

    with pytest.raises(UpstreamUnavailableError) as info:
        await OpenAIProvider(sleep=sleeps).generate(request(), progress)

    assert len(sleeps.waits) == 2
    assert "the connection to openai at http://127.0.0.1:9/v1 failed" in info.value.message
    assert "OPENAI_BASE_URL" in info.value.message
    assert info.value.http_status is None


async def test_retries_and_requests_are_counted_in_metrics(
    openai_env, provider, progress, sleeps, response_body, images
):
    from gpt_image_mcp.metrics import Metrics, set_metrics

    metrics = Metrics()
    previous = set_metrics(metrics)
    try:
        rate_limited(openai_env, {"Retry-After": "1"})
        succeed(openai_env, response_body, images)
        await provider.generate(request(), progress)
    finally:
        set_metrics(previous)

    def value(name: str, **labels: str) -> float | None:
        return metrics.registry.get_sample_value(f"gpt_image_mcp_{name}_total", labels)

    assert value("upstream_retries", provider="openai", reason="rate_limited") == 1
    assert value("upstream_requests", provider="openai", outcome="rate_limited") == 1
    assert value("upstream_requests", provider="openai", outcome="ok") == 1
