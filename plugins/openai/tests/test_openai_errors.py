"""Upstream failures become core errors with actionable messages; secrets never leak."""

from __future__ import annotations

import logging

import pytest
from gpt_image_mcp.errors import (
    AuthenticationError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RefusedError,
)
from gpt_image_mcp.types import GenerateRequest
from gpt_image_mcp_openai.errors import mask_secrets, parse_retry_after

pytestmark = pytest.mark.anyio

PATH = "/v1/images/generations"
VERIFY = (
    "Your organization must be verified to use the model `gpt-image-2`. Please go to: "
    "https://platform.openai.com/settings/organization/general and click on Verify Organization. If you just "
    "verified, it can take up to 15 minutes for access to propagate."
)


def error_body(message: str, code: str | None, kind: str = "invalid_request_error") -> dict:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


@pytest.mark.parametrize(
    ("status", "body", "error_type", "phrases"),
    [
        (
            400,
            error_body(
                "Your request was rejected as a result of our safety system.",
                "moderation_blocked",
                "image_generation_user_error",
            ),
            RefusedError,
            ["refused this request", "moderation_blocked", "rejected as a result of our safety system", "Rephrasing"],
        ),
        (
            400,
            error_body("Your prompt may contain content that is not allowed.", "content_policy_violation"),
            RefusedError,
            ["refused this request", "content_policy_violation", "Rephrasing"],
        ),
        (
            400,
            error_body("Invalid size '1000x1000'.", "invalid_value"),
            InvalidRequestError,
            ["rejected the request (HTTP 400)", "Invalid size '1000x1000'"],
        ),
        (
            401,
            error_body("Incorrect API key provided: sk-abc***xyz.", "invalid_api_key"),
            AuthenticationError,
            ["HTTP 401", "Check OPENAI_API_KEY"],
        ),
        (
            403,
            error_body(VERIFY, None),
            PermissionDeniedError,
            ["must be verified", "https://platform.openai.com/settings/organization/general", "gpt-image-2"],
        ),
        (
            403,
            error_body("You are not allowed to sample from this model", None),
            PermissionDeniedError,
            ["HTTP 403", "not allowed to use gpt-image-2", "permissions"],
        ),
        (
            404,
            error_body("The model `gpt-image-2` does not exist or you do not have access to it.", "model_not_found"),
            NotFoundError,
            ["HTTP 404", "does not know model gpt-image-2", "wrong", "retired"],
        ),
    ],
)
async def test_client_errors_are_mapped_and_never_retried(
    openai_env, provider, progress, sleeps, status, body, error_type, phrases
) -> None:
    openai_env.expect_request(PATH).respond_with_json(body, status=status, headers={"x-request-id": "req_err"})

    with pytest.raises(error_type) as info:
        await provider.generate(GenerateRequest(model="gpt-image-2", prompt="p"), progress)

    error = info.value
    assert len(openai_env.log) == 1
    assert sleeps.waits == []
    assert not error.retryable
    assert (error.provider, error.model, error.http_status, error.request_id) == (
        "openai",
        "gpt-image-2",
        status,
        "req_err",
    )
    for phrase in phrases:
        assert phrase in error.message


async def test_the_key_never_appears_in_messages_or_logs(openai_env, provider, progress, api_key, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    echo = f"Incorrect API key provided: {api_key}. Authorization: Bearer {api_key}"
    openai_env.expect_request(PATH).respond_with_json(error_body(echo, "invalid_api_key"), status=401)

    with pytest.raises(AuthenticationError) as info:
        await provider.generate(GenerateRequest(model="gpt-image-2", prompt="p"), progress)

    message = info.value.message
    assert api_key not in message
    assert api_key[:12] not in message
    assert "Incorrect API key provided: ***" in message
    assert api_key not in str(info.value)
    assert api_key not in repr(info.value.to_dict())
    assert info.value.__cause__ is None  # the SDK error (with the raw body) is not chained
    assert caplog.records  # the SDK and the fake did log at debug level
    assert api_key not in caplog.text
    assert "SECRET" not in caplog.text


async def test_a_key_shaped_value_that_is_not_ours_is_masked_too(openai_env, provider, progress) -> None:
    other = "sk-proj-ZZZZZZZZZZZZZZZZZZZZ"
    openai_env.expect_request(PATH).respond_with_json(error_body(f"key {other} is revoked", None), status=401)

    with pytest.raises(AuthenticationError) as info:
        await provider.generate(GenerateRequest(model="gpt-image-2", prompt="p"), progress)

    assert other not in info.value.message
    assert "key sk-*** is revoked" in info.value.message


def test_mask_secrets() -> None:
    assert mask_secrets("token abcd1234 and sk-live-abcdefgh", ["abcd1234"]) == "token *** and sk-***"
    assert mask_secrets("Authorization: Bearer eyJhbGciOi.J9.abc") == "Authorization: Bearer ***"
    assert mask_secrets("nothing secret here") == "nothing secret here"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, None),
        ({"retry-after": "7"}, 7.0),
        ({"Retry-After": "1.5"}, 1.5),
        ({"retry-after-ms": "200"}, 0.2),
        ({"retry-after-ms": "soon", "retry-after": "3"}, 3.0),
        ({"retry-after": "-4"}, 0.0),
        ({"retry-after": "Wed, 21 Oct 2026 07:28:00 GMT"}, 60.0),
        ({"retry-after": "not a date"}, None),
        ({"retry-after": "1e999"}, None),  # infinite: no wait at all is believed
        ({"retry-after": "nan"}, None),
        ({"retry-after-ms": "inf", "retry-after": "2"}, 2.0),
        ({"retry-after": "9999999"}, 86_400.0),
    ],
)
def test_parse_retry_after(headers: dict[str, str], expected: float | None) -> None:
    import email.utils

    now = email.utils.parsedate_to_datetime("Wed, 21 Oct 2026 07:27:00 GMT").timestamp()
    assert parse_retry_after(headers, now=now) == expected
