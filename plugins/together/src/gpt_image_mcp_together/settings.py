"""Settings of the Together AI provider: TOGETHER_* variables, read on first use."""

from __future__ import annotations

from pathlib import Path

from gpt_image_mcp_openai.settings import ApiKeySettings, env, http_url
from pydantic import Field, SecretStr, field_validator

DEFAULT_BASE_URL = "https://api.together.xyz/v1"
DEFAULT_MODEL = "black-forest-labs/FLUX.1-schnell"


class TogetherSettings(ApiKeySettings):
    """TOGETHER_API_KEY (or TOGETHER_API_KEY_FILE), TOGETHER_BASE_URL, TOGETHER_DEFAULT_MODEL, TOGETHER_TIMEOUT."""

    api_key: SecretStr | None = Field(None, validation_alias=env("api_key", "TOGETHER_API_KEY"))
    api_key_file: Path | None = Field(
        None,
        validation_alias=env("api_key_file", "TOGETHER_API_KEY_FILE"),
        description="File holding the API key; used when TOGETHER_API_KEY is unset.",
    )
    base_url: str = Field(DEFAULT_BASE_URL, validation_alias=env("base_url", "TOGETHER_BASE_URL"))
    default_model: str = Field(
        DEFAULT_MODEL,
        validation_alias=env("default_model", "TOGETHER_DEFAULT_MODEL"),
        description="Model used when a call names none.",
    )
    timeout: float = Field(
        300.0,
        gt=0,
        validation_alias=env("timeout", "TOGETHER_TIMEOUT"),
        description="Seconds to wait for one upstream answer.",
    )

    @field_validator("base_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        return http_url(value, "https://api.together.xyz/v1")
