"""Settings of the S3 sink, read from the environment (and `.env`, which core loads) on first use.

Credentials are not settings of ours: boto3 resolves them through the standard AWS chain (environment,
shared config/credentials files and profiles, container and instance roles).
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import AliasChoices, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_PREFIX = "gpt-image-mcp/"
#: SigV4 presigned URLs are valid for at most seven days.
MAX_PRESIGN_TTL_SECONDS = 7 * 24 * 3600


class S3Settings(BaseSettings):
    """S3_* variables. Only S3_BUCKET is required."""

    # Aliases name environment variables only and populate_by_name stays off (with it, pydantic-settings
    # would also read the field names), so a stray BUCKET, REGION or PREFIX variable is never picked up.
    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore", allow_inf_nan=False)

    bucket: str = Field(
        validation_alias=AliasChoices("S3_BUCKET"),
        min_length=1,
        description="Bucket the images are uploaded to (it must exist).",
    )
    prefix: str = Field(
        DEFAULT_PREFIX,
        validation_alias=AliasChoices("S3_PREFIX"),
        description="Key prefix ('folder') for uploaded images; empty for the bucket's root.",
    )
    region: str | None = Field(
        None,
        validation_alias=AliasChoices("S3_REGION", "AWS_REGION", "AWS_DEFAULT_REGION"),
        description="Region of the bucket; falls back to AWS_REGION, AWS_DEFAULT_REGION, then the AWS profile.",
    )
    endpoint_url: str | None = Field(
        None,
        validation_alias=AliasChoices("S3_ENDPOINT_URL"),
        description="Endpoint of an S3-compatible store (MinIO, Cloudflare R2, ...); unset for Amazon S3.",
    )
    addressing_style: Literal["auto", "path", "virtual"] | None = Field(
        None,
        validation_alias=AliasChoices("S3_ADDRESSING_STYLE"),
        description="'path' or 'virtual' host addressing; default: 'path' with S3_ENDPOINT_URL, else 'auto'.",
    )
    presign_ttl_seconds: int = Field(
        3600,
        ge=1,
        le=MAX_PRESIGN_TTL_SECONDS,
        validation_alias=AliasChoices("S3_PRESIGN_TTL_SECONDS"),
        description="Lifetime of the presigned download URL returned for each image, in seconds.",
    )
    connect_timeout_seconds: float = Field(
        3.0,
        gt=0,
        validation_alias=AliasChoices("S3_CONNECT_TIMEOUT_SECONDS"),
        description="Seconds to wait for a connection to the S3 endpoint.",
    )
    read_timeout_seconds: float = Field(
        30.0,
        gt=0,
        validation_alias=AliasChoices("S3_READ_TIMEOUT_SECONDS"),
        description="Seconds to wait for S3 to answer one request.",
    )
    max_attempts: int = Field(
        2,
        ge=1,
        le=10,
        validation_alias=AliasChoices("S3_MAX_ATTEMPTS"),
        description="Attempts per request, the first included (throttling, 5xx and connection errors).",
    )

    @model_validator(mode="before")
    @classmethod
    def _blank_is_unset(cls, data: Any) -> Any:
        # `S3_ENDPOINT_URL=` in a .env file means "not set", not "an empty URL". S3_PREFIX= is kept: it
        # deliberately selects the bucket's root.
        if isinstance(data, dict):
            return {
                key: value
                for key, value in data.items()
                if not (isinstance(value, str) and not value.strip() and key.lower() not in {"prefix", "s3_prefix"})
            }
        return data

    @field_validator("bucket", "region")
    @classmethod
    def _strip(cls, value: str | None) -> str | None:
        return value.strip() if value is not None else None

    @field_validator("prefix")
    @classmethod
    def _sanitise_prefix(cls, value: str) -> str:
        return sanitise_prefix(value)

    @field_validator("endpoint_url")
    @classmethod
    def _check_endpoint(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL, e.g. http://127.0.0.1:9000")
        return value.rstrip("/")

    @property
    def effective_addressing_style(self) -> str:
        # MinIO and most self-hosted stores only answer path-style requests (no bucket subdomains).
        return self.addressing_style or ("path" if self.endpoint_url else "auto")

    @property
    def endpoint_label(self) -> str:
        """The endpoint for messages: without any user:password part."""
        if not self.endpoint_url:
            return f"Amazon S3 ({self.region or 'default region'})"
        return mask_url(self.endpoint_url)


def sanitise_prefix(value: str) -> str:
    """'/a//b/../c' -> 'a/b/c/': no leading '/', no empty, '.' or '..' segments, one trailing '/'."""
    segments = [part for part in value.replace("\\", "/").split("/") if part.strip() not in {"", ".", ".."}]
    return "".join(f"{part}/" for part in segments)


def mask_url(url: str) -> str:
    """The URL with any credentials in it replaced by '***'."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, f"***@{host}", parts.path, parts.query, parts.fragment))


def describe_validation_error(exc: ValidationError) -> list[str]:
    """One line per invalid setting, named by its environment variable."""
    problems = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else ""
        info = S3Settings.model_fields.get(field)
        alias = info.validation_alias if info else None
        name = str(alias.choices[0]) if isinstance(alias, AliasChoices) else field.upper()
        if error["type"] == "missing":
            problems.append(f"{name} is not set")
        else:
            shown = mask_url(str(error["input"])) if field == "endpoint_url" else repr(error.get("input"))
            problems.append(f"{name}: {error['msg'].removeprefix('Value error, ')} (got {shown})")
    return problems
