"""The error taxonomy every provider and sink uses.

Each error carries a message written for the person (or model) who has to act on it, plus structured
fields that clients and metrics can rely on. Providers translate upstream failures into these classes;
the server turns them into MCP tool errors, the CLI into a message and an exit code.
"""

from __future__ import annotations

from typing import Any, ClassVar

#: The most characters of a caller's value that a message or a structured field echoes back.
ECHO_LIMIT = 100


def brief(value: object, limit: int = ECHO_LIMIT) -> str:
    """`repr(value)` for a message, cut to `limit` characters: a 500 KB argument is never sent back whole."""
    text = repr(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(str(value)):,} characters)"


def _cut(value: str | None, limit: int = 2 * ECHO_LIMIT) -> str | None:
    return value if value is None or len(value) <= limit else f"{value[:limit]}..."


class ImageMCPError(Exception):
    """Base class: a failure with a user-facing message and structured fields."""

    code: ClassVar[str] = "error"
    retryable: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        model: str | None = None,
        http_status: int | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.model = model
        self.http_status = http_status
        self.request_id = request_id
        self.retry_after = retry_after

    def to_dict(self) -> dict[str, Any]:
        """The structured fields sent to clients next to the message."""
        fields: dict[str, Any] = {
            "code": self.code,
            "message": self.message,
            "retryable": self.retryable,
            "provider": _cut(self.provider),
            "model": _cut(self.model),
            "http_status": self.http_status,
            "request_id": _cut(self.request_id),
            "retry_after": self.retry_after,
        }
        return {key: value for key, value in fields.items() if value is not None or key == "retryable"}


class InvalidRequestError(ImageMCPError):
    """The request breaks a rule we know before calling upstream (size, n, prompt, model, inputs)."""

    code = "invalid_request"


class UnsupportedOperationError(InvalidRequestError):
    """The chosen provider or model cannot do this operation (e.g. variations)."""

    code = "unsupported_operation"


class ConfigurationError(ImageMCPError):
    """The server or a provider is not configured well enough to serve the call."""

    code = "configuration"


class RefusedError(ImageMCPError):
    """The upstream safety system refused the prompt or image. Never retried."""

    code = "refused"


class AuthenticationError(ImageMCPError):
    """Credentials were missing, invalid or expired."""

    code = "authentication"


class PermissionDeniedError(ImageMCPError):
    """Credentials are valid but not allowed (organisation verification, limited access, RBAC)."""

    code = "permission_denied"


class NotFoundError(ImageMCPError):
    """The model or deployment does not exist upstream (or was retired)."""

    code = "not_found"


class RateLimitedError(ImageMCPError):
    """Upstream rate limit or quota; retry after the given delay."""

    code = "rate_limited"
    retryable = True


class UpstreamUnavailableError(ImageMCPError):
    """Upstream answered with a server error or could not be reached."""

    code = "upstream_unavailable"
    retryable = True


class UpstreamTimeoutError(ImageMCPError):
    """Upstream did not answer in time."""

    code = "timeout"
    retryable = True


class BadUpstreamResponseError(ImageMCPError):
    """Upstream answered, but not with usable images (no data, URL only, corrupt bytes)."""

    code = "bad_upstream_response"


class CancelledByUserError(ImageMCPError):
    """The user cancelled the call (e.g. dismissed a question); nothing was sent upstream."""

    code = "cancelled"


class SinkError(ImageMCPError):
    """An output sink could not store an image (the image itself is kept elsewhere)."""

    code = "sink_failed"


class PluginError(Exception):
    """A plugin could not be loaded or conflicts with another one."""
