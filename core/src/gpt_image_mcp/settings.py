"""Server settings: environment variables (names compatible with the original server), `.env`, CLI flags.

Precedence, highest first: CLI flags, environment, `.env` file, defaults. Provider plugins read their own
variables (OPENAI_API_KEY, AZURE_OPENAI_*...) themselves; the `.env` file is loaded into the process
environment so they see it too.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from gpt_image_mcp.errors import ConfigurationError

LogLevel = Literal["debug", "info", "warning", "error", "critical"]
CommaList = Annotated[list[str], NoDecode]


def _env(*names: str) -> AliasChoices:
    return AliasChoices(*names)


class Settings(BaseSettings):
    """Every core setting. Field docs double as the configuration reference."""

    model_config = SettingsConfigDict(
        case_sensitive=False, populate_by_name=True, extra="ignore", validate_default=True
    )

    provider: CommaList = Field(
        default_factory=list,
        validation_alias=_env("provider", "PROVIDER"),
        description="Provider name, or a comma-separated list (the first is the default). Empty: auto-detect "
        "from configured credentials, else the offline provider.",
    )
    default_model: str = Field(
        "gpt-image-2",
        validation_alias=_env("default_model", "DEFAULT_MODEL"),
        description="Model used when a call names none.",
    )
    transport: Literal["stdio", "http"] = Field(
        "stdio", validation_alias=_env("transport", "MCP_TRANSPORT"), description="MCP transport: stdio or http."
    )
    host: str = Field("127.0.0.1", validation_alias=_env("host", "HOST"), description="HTTP bind address.")
    port: int = Field(3000, ge=1, le=65535, validation_alias=_env("port", "PORT"), description="HTTP port.")
    mcp_api_key: SecretStr | None = Field(
        None, validation_alias=_env("mcp_api_key", "MCP_API_KEY"), description="Bearer token required on /mcp."
    )
    use_elicitation: bool = Field(
        True,
        validation_alias=_env("use_elicitation", "USE_ELICITATION"),
        description="Ask the user for missing settings.",
    )
    use_sampling: bool = Field(
        True,
        validation_alias=_env("use_sampling", "USE_SAMPLING"),
        description="Allow prompt enhancement via sampling.",
    )
    max_requests_per_minute: int = Field(
        60,
        ge=1,
        validation_alias=_env("max_requests_per_minute", "MAX_REQUESTS_PER_MINUTE"),
        description="Tool calls per client per minute over HTTP.",
    )
    log_level: LogLevel = Field(
        "info", validation_alias=_env("log_level", "LOG_LEVEL"), description="debug, info, warning (warn), error."
    )
    model_capabilities_file: Path | None = Field(
        None,
        validation_alias=_env("model_capabilities_file", "MODEL_CAPABILITIES_FILE"),
        description="TOML file that extends or overrides the built-in model capability table.",
    )
    output_dir: Path | None = Field(
        None, validation_alias=_env("output_dir", "OUTPUT_DIR"), description="Folder for saved images."
    )
    strict_plugins: bool = Field(
        False,
        validation_alias=_env("strict_plugins", "GPT_IMAGE_MCP_STRICT_PLUGINS"),
        description="Fail instead of skipping a plugin that cannot load.",
    )
    plugins: CommaList | None = Field(
        None,
        validation_alias=_env("plugins", "GPT_IMAGE_MCP_PLUGINS"),
        description="Allow-list of entry-point plugins to load (comma-separated). Unset: all.",
    )
    disable_plugins: CommaList = Field(
        default_factory=list,
        validation_alias=_env("disable_plugins", "GPT_IMAGE_MCP_DISABLE_PLUGINS"),
        description="Entry-point plugins not to load (comma-separated).",
    )

    @field_validator("provider", "plugins", "disable_plugins", mode="before")
    @classmethod
    def _split_commas(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip().lower() for part in value.split(",") if part.strip()]
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _normalise_level(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip().lower()
            return {"warn": "warning", "fatal": "critical"}.get(value, value)
        return value

    @field_validator("transport", mode="before")
    @classmethod
    def _normalise_transport(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip().lower()
            return {"streamable-http": "http", "streamable_http": "http"}.get(value, value)
        return value


def _env_name(field_name: str) -> str:
    alias = Settings.model_fields[field_name].validation_alias
    if isinstance(alias, AliasChoices):
        return str(alias.choices[-1])
    return field_name.upper()


def load_settings(env_file: Path | None = None, **overrides: Any) -> Settings:
    """Load `.env` into the environment (never overriding real variables), then build the settings.

    Raises `ConfigurationError` listing every invalid setting by its environment variable name.
    """
    load_env_file(env_file)
    cleaned = {key: value for key, value in overrides.items() if value is not None}
    try:
        return Settings(**cleaned)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "?"
            name = _env_name(field) if field in Settings.model_fields else field
            problems.append(f"{name}: {error['msg']} (got {error.get('input')!r})")
        raise ConfigurationError("invalid configuration:\n  " + "\n  ".join(problems)) from exc


def load_env_file(env_file: Path | None = None) -> None:
    from dotenv import load_dotenv

    path = env_file or Path(os.environ.get("GPT_IMAGE_MCP_ENV_FILE", ".env"))
    if env_file is not None and not path.is_file():
        raise ConfigurationError(f"env file {path} does not exist")
    if path.is_file():
        load_dotenv(path, override=False)
