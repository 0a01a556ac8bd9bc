"""Turning `openai` exceptions into core errors, reading Retry-After, and masking secrets.

Nothing here imports `openai` at module level: exceptions are recognised by their attributes, so this
module stays importable (and cheap) before the SDK is loaded.
"""

from __future__ import annotations

import email.utils
import math
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from gpt_image_mcp.errors import (
    AuthenticationError,
    BadUpstreamResponseError,
    ImageMCPError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    RefusedError,
    UpstreamTimeoutError,
    UpstreamUnavailableError,
)

VERIFY_ORGANIZATION_URL = "https://platform.openai.com/settings/organization/general"
BILLING_URL = "https://platform.openai.com/settings/organization/billing"

#: Upstream error codes meaning "the safety system refused": never retried.
REFUSAL_CODES = frozenset(
    {"moderation_blocked", "content_policy_violation", "content_filter", "ResponsibleAIPolicyViolation"}
)
QUOTA_CODES = frozenset({"insufficient_quota", "billing_hard_limit_reached"})
MAX_REASON_CHARS = 500


class QuotaExhaustedError(RateLimitedError):
    """HTTP 429 for an exhausted quota or billing limit: waiting does not help, so it is not retried."""

    retryable = False


def mask_secrets(text: str, secrets: Iterable[str | None] = ()) -> str:
    """Core's masking (every registered secret, every key- or token-shaped string) plus this call's secrets."""
    from gpt_image_mcp import mask_secrets as core_mask

    own = [secret for secret in secrets if secret and len(secret) >= 4]
    return core_mask(core_mask(text, own) if own else text)


def register_secrets_with_core(secrets: Iterable[str]) -> None:
    """Hand secrets to core's log masking too (a key read from a file is in no environment variable, so core
    could not find it by itself)."""
    from gpt_image_mcp import register_secret

    register_secret(*secrets)


#: The longest wait a Retry-After header is believed for (a day); it is reported, not waited for.
MAX_RETRY_AFTER_SECONDS = 86_400.0


def parse_retry_after(headers: Mapping[str, str] | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from `retry-after-ms`, or `retry-after` as seconds or an HTTP date; None if absent."""
    if not headers:
        return None
    milliseconds = _header(headers, "retry-after-ms")
    if milliseconds is not None:
        try:
            return _seconds(float(milliseconds) / 1000)
        except ValueError:
            pass
    value = _header(headers, "retry-after")
    if value is None:
        return None
    try:
        return _seconds(float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _seconds(value: float) -> float:
    """A wait in seconds from a header: not negative, and not infinite or NaN (`1e999`), which would be a day."""
    if not math.isfinite(value):
        raise ValueError("not a finite number")
    return min(max(0.0, value), MAX_RETRY_AFTER_SECONDS)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        value = next((v for k, v in headers.items() if k.lower() == name), None)
    return value.strip() if isinstance(value, str) and value.strip() else None


@dataclass(frozen=True)
class ErrorContext:
    """What the mapper needs to write an actionable message."""

    provider: str
    model: str | None
    base_url: str
    #: The settings named in messages: credential, base URL, timeout.
    key_variable: str
    base_url_variable: str = "OPENAI_BASE_URL"
    timeout_variable: str = "OPENAI_TIMEOUT"
    #: Values masked in every message (the API key, tokens).
    secrets: tuple[str, ...] = ()
    timeout: float | None = None
    request_id: str | None = None


def upstream_reason(exc: BaseException, secrets: Iterable[str | None] = ()) -> str:
    """The upstream error message (not the SDK's 'Error code: ...' prefix), masked and shortened."""
    body = getattr(exc, "body", None)
    message: Any = None
    if isinstance(body, Mapping):
        message = body.get("message")
        nested = body.get("error")
        if not message and isinstance(nested, Mapping):
            message = nested.get("message")
    elif isinstance(body, str) and body.strip():
        message = body
    if not isinstance(message, str) or not message.strip():
        message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    text = mask_secrets(" ".join(str(message).split()), secrets).rstrip(" .")
    return text if len(text) <= MAX_REASON_CHARS else text[: MAX_REASON_CHARS - 1] + "…"


def error_code(exc: BaseException) -> str | None:
    """The upstream error code, including Azure's nested `inner_error.code`."""
    body = getattr(exc, "body", None)
    codes: list[Any] = [getattr(exc, "code", None)]
    if isinstance(body, Mapping):
        codes.append(body.get("code"))
        inner = body.get("inner_error") or body.get("innererror")
        if isinstance(inner, Mapping):
            codes.append(inner.get("code"))
        nested = body.get("error")
        if isinstance(nested, Mapping):
            codes.append(nested.get("code"))
    refusal = next((str(code) for code in codes if code and str(code) in REFUSAL_CODES), None)
    return refusal or next((str(code) for code in codes if code), None)


def map_openai_error(exc: BaseException, context: ErrorContext) -> ImageMCPError:
    """Classify an exception raised by the `openai` SDK as one of the core errors.

    Recognises the SDK's classes by name and attributes so the mapping also works for subclasses that
    other SDK builds (Azure) raise, and for plain `APIError`s raised inside a stream.
    """
    names = {cls.__name__ for cls in type(exc).__mro__}
    status = getattr(exc, "status_code", None)
    status = status if isinstance(status, int) else None
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    request_id = getattr(exc, "request_id", None) or context.request_id
    if not request_id and headers is not None:
        request_id = headers.get("x-request-id")
    fields: dict[str, Any] = {
        "provider": context.provider,
        "model": context.model,
        "http_status": status,
        "request_id": request_id,
    }
    who = context.provider
    reason = upstream_reason(exc, context.secrets)
    code = error_code(exc)

    if "APITimeoutError" in names:
        within = f" within {context.timeout:g} s" if context.timeout else ""
        return UpstreamTimeoutError(
            f"{who} did not answer{within}. Try again; large sizes and high quality take longer "
            f"(raise {context.timeout_variable} if this keeps happening).",
            **fields,
        )
    if "APIConnectionError" in names:
        cause = exc.__cause__ or exc.__context__
        detail = f": {mask_secrets(str(cause), context.secrets)}" if cause and str(cause) else ""
        return UpstreamUnavailableError(
            f"the connection to {who} at {context.base_url} failed{detail}. Check the network and "
            f"{context.base_url_variable}.",
            **fields,
        )
    if "APIResponseValidationError" in names:
        return BadUpstreamResponseError(f"{who} answered with data that does not fit the API: {reason}", **fields)

    if code in REFUSAL_CODES:
        return RefusedError(
            f"{who}'s safety system refused this request ({code}: {reason}). Rephrasing the prompt or changing "
            f"the input images may help; sending the same request again will not.",
            **fields,
        )
    if status is None:
        # A plain APIError: an error event inside a stream, with no HTTP status of its own.
        if code in {"rate_limit_exceeded", "rate_limited"}:
            return RateLimitedError(f"{who} rate limit reached while streaming: {reason}", **fields)
        return UpstreamUnavailableError(
            f"{who} failed while producing the image ({code or 'error'}): {reason}", **fields
        )

    retry_after = parse_retry_after(headers)
    if status == 401:
        return AuthenticationError(
            f"{who} rejected the credentials (HTTP 401): {reason}. Check {context.key_variable}.", **fields
        )
    if status == 403:
        if "verif" in reason.lower():
            return PermissionDeniedError(
                f"{who} refused access to {context.model or 'this model'} because your organization must be "
                f"verified (HTTP 403). Verify it at {VERIFY_ORGANIZATION_URL}; access can take a few minutes "
                f"to arrive after verification. Upstream said: {reason}",
                **fields,
            )
        return PermissionDeniedError(
            f"{who} refused access (HTTP 403): {reason}. The credentials are valid but not allowed to use "
            f"{context.model or 'this model'}; check the project's model permissions.",
            **fields,
        )
    if status == 404:
        return NotFoundError(
            f"{who} does not know model {context.model or '(none)'} (HTTP 404): {reason}. The name may be wrong, "
            f"retired, or not available to this account (or {context.base_url_variable} is not the API root); "
            f"provider_list shows the models this server knows.",
            **fields,
        )
    if status == 408:
        return UpstreamTimeoutError(f"{who} timed out handling the request (HTTP 408): {reason}", **fields)
    if status == 429:
        if code in QUOTA_CODES:
            return QuotaExhaustedError(
                f"{who} quota is exhausted (HTTP 429, {code}): {reason}. Waiting will not help: check the plan "
                f"and billing at {BILLING_URL}.",
                **fields,
            )
        wait = f" Wait about {retry_after:.0f} s before trying again." if retry_after is not None else ""
        return RateLimitedError(
            f"{who} rate limit reached (HTTP 429): {reason}.{wait}", retry_after=retry_after, **fields
        )
    if status == 409 or status >= 500:
        return UpstreamUnavailableError(
            f"{who} had a server error (HTTP {status}): {reason}. This is usually temporary; try again shortly.",
            retry_after=retry_after,
            **fields,
        )
    return InvalidRequestError(f"{who} rejected the request (HTTP {status}): {reason}", **fields)
