"""Together failures become core errors naming Together's own variables; the key never leaks."""

from __future__ import annotations

import pytest
from gpt_image_mcp.errors import (
    AuthenticationError,
    InvalidRequestError,
    NotFoundError,
    RateLimitedError,
    RefusedError,
    UpstreamUnavailableError,
)
from gpt_image_mcp.types import GenerateRequest

pytestmark = pytest.mark.anyio

SCHNELL = "black-forest-labs/FLUX.1-schnell"
PATH = "/v1/images/generations"


def error(message: str, kind: str = "invalid_request_error", code: str | None = None) -> dict:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


@pytest.mark.parametrize(
    ("status", "body", "error_type", "phrase"),
    [
        (401, error("Invalid API key provided", "invalid_api_key"), AuthenticationError, "Check TOGETHER_API_KEY"),
        (404, error(f"Unable to access model {SCHNELL}", "model_not_found"), NotFoundError, "TOGETHER_BASE_URL"),
        (400, error("width must be a multiple of 8"), InvalidRequestError, "width must be a multiple of 8"),
        (422, error("Input contains NSFW content"), RefusedError, "safety checker refused"),
    ],
)
async def test_status_mapping(together, provider, progress, status, body, error_type, phrase) -> None:
    together.expect_request(PATH).respond_with_json(body, status=status)

    with pytest.raises(error_type) as info:
        await provider.generate(GenerateRequest(model=SCHNELL, prompt="p"), progress)

    assert phrase in info.value.message
    assert (info.value.provider, info.value.http_status) == ("together", status)
    assert len(together.log) == 1


async def test_the_key_is_masked(together, api_key, provider, progress) -> None:
    together.expect_request(PATH).respond_with_json(error(f"key {api_key} is revoked"), status=401)

    with pytest.raises(AuthenticationError) as info:
        await provider.generate(GenerateRequest(model=SCHNELL, prompt="p"), progress)

    assert api_key not in info.value.message


async def test_rate_limit_is_retried_then_succeeds(together, provider, progress, images, response_body) -> None:
    together.expect_ordered_request(PATH).respond_with_json(
        error("rate limited", "rate_limit"), status=429, headers={"retry-after": "2"}
    )
    together.expect_ordered_request(PATH).respond_with_json(response_body(images.png()))

    result = await provider.generate(GenerateRequest(model=SCHNELL, prompt="p"), progress)

    assert result.images
    assert provider._sleep.waits == [2.0]


async def test_server_errors_exhaust_retries(together, monkeypatch, provider, progress) -> None:
    monkeypatch.setenv("MAX_RETRIES", "1")
    together.expect_request(PATH).respond_with_json(error("overloaded", "server_error"), status=503)

    with pytest.raises(UpstreamUnavailableError, match="Gave up after 2 attempts"):
        await provider.generate(GenerateRequest(model=SCHNELL, prompt="p"), progress)

    assert len(together.log) == 2


async def test_exhausted_rate_limit(together, monkeypatch, provider, progress) -> None:
    monkeypatch.setenv("MAX_RETRIES", "0")
    together.expect_request(PATH).respond_with_json(error("slow down"), status=429)

    with pytest.raises(RateLimitedError):
        await provider.generate(GenerateRequest(model=SCHNELL, prompt="p"), progress)
