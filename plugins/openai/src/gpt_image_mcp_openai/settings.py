"""Settings of the OpenAI provider, read from the environment (and `.env`, which core loads) on first use."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from gpt_image_mcp import mask_secrets, read_text_file
from pydantic import AliasChoices, Field, PrivateAttr, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_BASE_URL = "https://api.openai.com/v1"


def env(*names: str) -> AliasChoices:
    """Aliases for a setting: only its environment variable names (upper case).

    Field names are deliberately not aliases and `populate_by_name` stays off: with either, pydantic-settings
    would also read stray variables such as PROJECT, TIMEOUT or API_KEY.
    """
    return AliasChoices(*(name for name in names if name.isupper()))


def http_url(value: str, example: str) -> str:
    """`value` stripped, without a trailing slash, when it is an http(s) URL with a host; else a ValueError."""
    value = value.strip()
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"must be an http(s) URL such as {example}")
    return value.rstrip("/")


def read_key_file(path: Path, variable: str) -> SecretStr:
    """The key stored in `path` (Docker/Kubernetes secrets), or a ValueError naming `variable`."""
    try:
        key = read_text_file(path, limit=64 * 1024).strip()
    except ValueError as exc:
        raise ValueError(f"{variable}: {exc}") from None
    if not key:
        raise ValueError(f"{variable}: {path} is empty")
    return SecretStr(key)


class RetrySettings(BaseSettings):
    """Retry and timeout knobs shared by every OpenAI-compatible provider (generic names, like the seed)."""

    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore", allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _blank_is_unset(cls, data: Any) -> Any:
        # `OPENAI_BASE_URL=` in a .env file means "not set", not "an empty URL" (for every provider built on this).
        if isinstance(data, dict):
            return {key: value for key, value in data.items() if not (isinstance(value, str) and not value.strip())}
        return data

    max_retries: int = Field(
        3,
        ge=0,
        le=10,
        validation_alias=env("max_retries", "MAX_RETRIES"),
        description="Retries after the first attempt on 429, 5xx, timeouts and connection errors.",
    )
    retry_max_wait: float = Field(
        60.0,
        gt=0,
        validation_alias=env("retry_max_wait", "RETRY_MAX_WAIT"),
        description="Longest wait before one retry, in seconds; a longer Retry-After is not waited for.",
    )
    retry_backoff_base: float = Field(
        1.0,
        ge=0,
        validation_alias=env("retry_backoff_base", "RETRY_BACKOFF_BASE"),
        description="First backoff step in seconds when upstream sends no Retry-After (doubles each retry).",
    )


class ApiKeySettings(RetrySettings):
    """Base for providers keyed by `api_key`, or by the file named in `api_key_file` when the key is unset.

    Subclasses declare both fields with their own environment variable names.
    """

    api_key: SecretStr | None = None
    api_key_file: Path | None = None
    _key_from_file: bool = PrivateAttr(False)

    @model_validator(mode="after")
    def _read_key_file(self) -> ApiKeySettings:
        if self.api_key is None and self.api_key_file is not None:
            self.api_key = read_key_file(self.api_key_file, self._variable("api_key_file"))
            self._key_from_file = True
        return self

    @property
    def key(self) -> str | None:
        return self.api_key.get_secret_value() if self.api_key else None

    @property
    def key_variable(self) -> str:
        """The variable the key came from, for messages (OPENAI_API_KEY, or OPENAI_API_KEY_FILE)."""
        return self._variable("api_key_file" if self._key_from_file else "api_key")

    @classmethod
    def _variable(cls, field: str) -> str:
        alias = cls.model_fields[field].validation_alias
        return str(alias.choices[0]) if isinstance(alias, AliasChoices) else field.upper()


class OpenAISettings(ApiKeySettings):
    """OPENAI_* variables. The key comes from OPENAI_API_KEY, or from the file named by OPENAI_API_KEY_FILE."""

    api_key: SecretStr | None = Field(None, validation_alias=env("api_key", "OPENAI_API_KEY"))
    api_key_file: Path | None = Field(
        None,
        validation_alias=env("api_key_file", "OPENAI_API_KEY_FILE"),
        description="File holding the API key (Docker/Kubernetes secrets); used when OPENAI_API_KEY is unset.",
    )
    base_url: str | None = Field(None, validation_alias=env("base_url", "OPENAI_BASE_URL"))
    organization: str | None = Field(None, validation_alias=env("organization", "OPENAI_ORGANIZATION"))
    project: str | None = Field(None, validation_alias=env("project", "OPENAI_PROJECT"))
    timeout: float = Field(
        600.0,
        gt=0,
        validation_alias=env("timeout", "OPENAI_TIMEOUT"),
        description="Seconds to wait for one upstream answer (high-quality large images take minutes).",
    )
    default_model: str = Field(
        "gpt-image-2",
        validation_alias=env("default_model", "DEFAULT_MODEL"),
        description="Core's DEFAULT_MODEL, read here only to pick the model provider_validate checks.",
    )

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str | None) -> str | None:
        return http_url(value, "https://api.openai.com/v1") if value is not None else None

    @property
    def effective_base_url(self) -> str:
        return (self.base_url or DEFAULT_BASE_URL).rstrip("/")


S = TypeVar("S", bound=BaseSettings)


def read_settings(settings_type: type[S]) -> tuple[S | None, list[str]]:
    """`settings_type` read from the environment, or None and one line per invalid setting."""
    try:
        return settings_type(), []
    except ValidationError as exc:
        return None, describe_validation_error(exc, settings_type)


def describe_validation_error(exc: ValidationError, settings_type: type[BaseSettings]) -> list[str]:
    """One line per invalid setting, named by its environment variable, never echoing a secret's value."""
    problems = []
    for error in exc.errors():
        message = error["msg"].removeprefix("Value error, ")
        field = str(error["loc"][0]) if error["loc"] else ""
        if not field:  # a model-level check, whose message names its variable itself
            problems.append(message)
            continue
        info = settings_type.model_fields.get(field)
        alias = info.validation_alias if info else None
        name = str(alias.choices[-1]) if isinstance(alias, AliasChoices) else field.upper()
        shown = "" if "key" in field else f" (got {error.get('input')!r})"
        problems.append(mask_secrets(f"{name}: {message}{shown}"))  # a URL's password, a token in a value
    return problems
