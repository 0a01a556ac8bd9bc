"""Settings of the custom provider: CUSTOM_OPENAI_* variables, read on first use."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from gpt_image_mcp_openai.settings import ApiKeySettings, env, http_url
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import NoDecode

CommaList = Annotated[list[str], NoDecode]
SizeStyle = Literal["wxh", "width_height"]
DEFAULT_FETCH_MAX_BYTES = 50 * 1024 * 1024
_OFF = {"none", "off", "false", "no", "omit"}


class CustomSettings(ApiKeySettings):
    """CUSTOM_OPENAI_* variables: the endpoint, its models, and switches for what it does differently."""

    base_url: str | None = Field(
        None,
        validation_alias=env("base_url", "CUSTOM_OPENAI_BASE_URL"),
        description="API root of the OpenAI-compatible server, e.g. http://localhost:4000/v1.",
    )
    api_key: SecretStr | None = Field(None, validation_alias=env("api_key", "CUSTOM_OPENAI_API_KEY"))
    api_key_file: Path | None = Field(
        None,
        validation_alias=env("api_key_file", "CUSTOM_OPENAI_API_KEY_FILE"),
        description="File holding the API key; used when CUSTOM_OPENAI_API_KEY is unset.",
    )
    models: CommaList = Field(
        default_factory=list,
        validation_alias=env("models", "CUSTOM_OPENAI_MODELS"),
        description="Comma-separated model names the endpoint serves.",
    )
    default_model: str | None = Field(
        None,
        validation_alias=env("default_model", "CUSTOM_OPENAI_DEFAULT_MODEL"),
        description="Model used when a call names none (default: the first of CUSTOM_OPENAI_MODELS).",
    )
    response_format: str | None = Field(
        "b64_json",
        validation_alias=env("response_format", "CUSTOM_OPENAI_RESPONSE_FORMAT"),
        description="response_format sent with each call: b64_json, or none to send none.",
    )
    size_style: SizeStyle = Field(
        "wxh",
        validation_alias=env("size_style", "CUSTOM_OPENAI_SIZE_STYLE"),
        description="wxh (size: '1024x768') or width_height (width: 1024, height: 768).",
    )
    supports_edits: bool = Field(
        True,
        validation_alias=env("supports_edits", "CUSTOM_OPENAI_SUPPORTS_EDITS"),
        description="Whether the endpoint has /images/edits.",
    )
    extra_body: Annotated[dict[str, Any], NoDecode] = Field(
        default_factory=dict,
        validation_alias=env("extra_body", "CUSTOM_OPENAI_EXTRA_BODY"),
        description="JSON object merged into every request body.",
    )
    mask_inverted: bool = Field(
        False,
        validation_alias=env("mask_inverted", "CUSTOM_OPENAI_MASK_INVERTED"),
        description="Invert the mask's alpha before upload (LocalAI: opaque marks the area to change).",
    )
    fetch_urls: bool = Field(
        False,
        validation_alias=env("fetch_urls", "CUSTOM_OPENAI_FETCH_URLS"),
        description="Download images the server returns as URLs instead of bytes.",
    )
    fetch_hosts: CommaList = Field(
        default_factory=list,
        validation_alias=env("fetch_hosts", "CUSTOM_OPENAI_FETCH_HOSTS"),
        description="Hosts images may be downloaded from (e.g. cdn.example.com, *.example.com). "
        "Default: the host of CUSTOM_OPENAI_BASE_URL.",
    )
    fetch_max_bytes: int = Field(
        DEFAULT_FETCH_MAX_BYTES,
        ge=1024,
        validation_alias=env("fetch_max_bytes", "CUSTOM_OPENAI_FETCH_MAX_BYTES"),
        description="Largest image download in bytes; bigger downloads are aborted.",
    )
    fetch_timeout: float = Field(
        60.0,
        gt=0,
        validation_alias=env("fetch_timeout", "CUSTOM_OPENAI_FETCH_TIMEOUT"),
        description="Seconds one image download may take in total.",
    )
    timeout: float = Field(
        600.0,
        gt=0,
        validation_alias=env("timeout", "CUSTOM_OPENAI_TIMEOUT"),
        description="Seconds to wait for one upstream answer.",
    )

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str | None) -> str | None:
        return http_url(value, "http://localhost:4000/v1") if value is not None else None

    @field_validator("models", "fetch_hosts", mode="before")
    @classmethod
    def _split_commas(cls, value: Any) -> Any:
        if isinstance(value, str):
            return list(dict.fromkeys(part.strip() for part in value.split(",") if part.strip()))
        return value

    @field_validator("response_format", mode="before")
    @classmethod
    def _response_format(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
            return None if value.lower() in _OFF else value
        return value

    @field_validator("size_style", mode="before")
    @classmethod
    def _size_style(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip().lower().replace("-", "_")
            return {"width_x_height": "wxh", "size": "wxh", "widthheight": "width_height"}.get(value, value)
        return value

    @field_validator("extra_body", mode="before")
    @classmethod
    def _parse_extra_body(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                raise ValueError(f'must be a JSON object, e.g. {{"guidance_scale": 7.5}} ({exc.msg})') from None
        if not isinstance(value, dict):
            raise ValueError('must be a JSON object, e.g. {"guidance_scale": 7.5}')
        return value

    @property
    def allowed_hosts(self) -> list[str]:
        """Hosts images may be downloaded from: CUSTOM_OPENAI_FETCH_HOSTS, else the base URL's host."""
        if self.fetch_hosts:
            return [host.lower() for host in self.fetch_hosts]
        host = urlsplit(self.base_url or "").hostname
        return [host.lower()] if host else []
