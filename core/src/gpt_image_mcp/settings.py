"""Server settings: environment variables (names compatible with the original server), `.env`, CLI flags.

Precedence, highest first: CLI flags, environment, `.env` file, defaults. Provider plugins read their own
variables (OPENAI_API_KEY, AZURE_OPENAI_*...) themselves; the `.env` file is loaded into the process
environment so they see it too.
"""

from __future__ import annotations

import io
import ipaddress
import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from gpt_image_mcp.errors import ConfigurationError

LogLevel = Literal["debug", "info", "warning", "error", "critical"]
CommaList = Annotated[list[str], NoDecode]


def _env(*names: str) -> AliasChoices:
    # Only the environment variable names: with field names as aliases too, pydantic-settings would also
    # read stray variables such as TRANSPORT or PLUGINS. Code passes values by field name via load_settings.
    return AliasChoices(*(name for name in names if name.isupper()))


class Settings(BaseSettings):
    """Every core setting. Field docs double as the configuration reference."""

    # `inf` is no number of seconds. (An empty variable keeps its meaning: `GPT_IMAGE_MCP_PLUGINS=` allows no plugin.)
    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore", validate_default=True, allow_inf_nan=False)

    provider: CommaList = Field(
        default_factory=list,
        validation_alias=_env("provider", "PROVIDER"),
        description="Provider name, or a comma-separated list (the first is the default). Empty: auto-detect "
        "from configured credentials, else the offline provider.",
    )
    fallback_providers: CommaList = Field(
        default_factory=list,
        validation_alias=_env("fallback_providers", "FALLBACK_PROVIDERS"),
        description="Providers to try, in order, when the chosen one fails with a retryable upstream error "
        "(rate limit, 5xx, timeout); never after a refusal or an invalid request. They are enabled too.",
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
        None,
        validation_alias=_env("output_dir", "OUTPUT_DIR"),
        description="Folder for saved images when the client offers no workspace root. "
        "Default: the user's pictures folder / gpt-image-mcp.",
    )
    workspace_allowed_roots: CommaList = Field(
        default_factory=list,
        validation_alias=_env("workspace_allowed_roots", "WORKSPACE_ALLOWED_ROOTS"),
        description="Comma-separated folders that client roots must lie in to be written to (empty: any root "
        "the client offers). Input images may be read by path only from these, the client's roots and OUTPUT_DIR.",
    )
    default_sinks: CommaList = Field(
        default_factory=lambda: ["inline"],
        validation_alias=_env("default_sinks", "DEFAULT_SINKS"),
        description="Sinks every call uses (comma-separated): inline, workspace, s3...",
    )
    max_inline_bytes: int = Field(
        700 * 1024,
        ge=0,
        le=16 * 1024 * 1024,
        validation_alias=_env("max_inline_bytes", "MAX_INLINE_BYTES"),
        description="Budget for inline image data per tool result (base64 bytes). Larger images come back as a "
        "preview plus a link to the full image.",
    )
    http_stateless: bool = Field(
        False,
        validation_alias=_env("http_stateless", "HTTP_STATELESS"),
        description="Serve Streamable HTTP without sessions (for load balancers); the server then never asks "
        "handshake-era clients questions mid-call.",
    )
    http_json_response: bool = Field(
        False,
        validation_alias=_env("http_json_response", "HTTP_JSON_RESPONSE"),
        description="Answer POST /mcp with plain JSON instead of an SSE stream (no progress notifications).",
    )
    progress_interval_seconds: float = Field(
        3.0,
        gt=0,
        le=60,
        validation_alias=_env("progress_interval_seconds", "PROGRESS_INTERVAL_SECONDS"),
        description="How often a waiting call sends a progress notification, so clients keep waiting.",
    )
    image_store_dir: Path | None = Field(
        None,
        validation_alias=_env("image_store_dir", "IMAGE_STORE_DIR"),
        description="Folder keeping every received image (image:// resources). Default: the user data folder.",
    )
    image_store_max_count: int = Field(
        500,
        ge=1,
        validation_alias=_env("image_store_max_count", "IMAGE_STORE_MAX_COUNT"),
        description="Images kept in the store; the oldest are evicted beyond this.",
    )
    image_store_max_bytes: int = Field(
        2 * 1024**3,
        ge=1,
        validation_alias=_env("image_store_max_bytes", "IMAGE_STORE_MAX_BYTES"),
        description="Bytes kept in the store; the oldest images are evicted beyond this.",
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

    # -- HTTP security, limits, observability --------------------------------------------------------
    mcp_api_key_file: Path | None = Field(
        None,
        validation_alias=_env("mcp_api_key_file", "MCP_API_KEY_FILE"),
        description="File holding the bearer token for /mcp (e.g. a mounted secret); used when MCP_API_KEY is "
        "unset. Surrounding whitespace is ignored.",
    )
    metrics_api_key: SecretStr | None = Field(
        None,
        validation_alias=_env("metrics_api_key", "METRICS_API_KEY"),
        description="Bearer token required on /metrics. Unset: /metrics is open.",
    )
    metrics_port: int | None = Field(
        None,
        ge=1,
        le=65535,
        validation_alias=_env("metrics_port", "METRICS_PORT"),
        description="Also serve Prometheus metrics on 127.0.0.1:METRICS_PORT (useful with the stdio transport).",
    )
    rate_limit_window_seconds: int = Field(
        60,
        ge=1,
        validation_alias=_env("rate_limit_window_seconds", "RATE_LIMIT_WINDOW_SECONDS"),
        description="Length of the moving window MAX_REQUESTS_PER_MINUTE counts over, in seconds.",
    )
    max_sessions: int = Field(
        1000,
        ge=1,
        validation_alias=_env("max_sessions", "MAX_SESSIONS"),
        description="Most HTTP sessions (2025-11-25 protocol) open at once; a new one beyond gets 503.",
    )
    max_sessions_per_minute: int = Field(
        60,
        ge=1,
        validation_alias=_env("max_sessions_per_minute", "MAX_SESSIONS_PER_MINUTE"),
        description="New HTTP sessions (initialize requests) per client per RATE_LIMIT_WINDOW_SECONDS; more get 429.",
    )
    session_idle_timeout_seconds: float = Field(
        1800.0,
        gt=0,
        validation_alias=_env("session_idle_timeout_seconds", "SESSION_IDLE_TIMEOUT_SECONDS"),
        description="An HTTP session with no request for this long is closed (the client then starts a new one).",
    )
    rate_limit_storage_uri: SecretStr = Field(
        SecretStr("memory://"),
        validation_alias=_env("rate_limit_storage_uri", "RATE_LIMIT_STORAGE_URI"),
        description="Where rate-limit counters live: memory:// (one process) or redis://host:6379 (shared by "
        "replicas; needs the limits[async-redis] extra).",
    )
    trusted_proxies: CommaList = Field(
        default_factory=list,
        validation_alias=_env("trusted_proxies", "TRUSTED_PROXIES"),
        description="Addresses or networks (CIDR) of reverse proxies whose X-Forwarded-For is believed.",
    )
    allowed_hosts: CommaList = Field(
        default_factory=list,
        validation_alias=_env("allowed_hosts", "ALLOWED_HOSTS"),
        description="Host header values accepted on /mcp (e.g. mcp.example.com, or example.com:* for any "
        "port). Loopback names are always accepted when bound to loopback.",
    )
    allowed_origins: CommaList = Field(
        default_factory=list,
        validation_alias=_env("allowed_origins", "ALLOWED_ORIGINS"),
        description="Origin header values accepted on /mcp (e.g. https://app.example.com). Requests without an "
        "Origin header are always accepted.",
    )
    max_request_bytes: int = Field(
        64 * 1024 * 1024,
        ge=1024,
        validation_alias=_env("max_request_bytes", "MAX_REQUEST_BYTES"),
        description="Largest accepted HTTP request body in bytes (larger: 413).",
    )
    log_format: Literal["text", "json"] = Field(
        "text",
        validation_alias=_env("log_format", "LOG_FORMAT"),
        description="text, or json for one JSON object per line (with the request id when there is one).",
    )
    shutdown_grace_seconds: int = Field(
        20,
        ge=0,
        validation_alias=_env("shutdown_grace_seconds", "SHUTDOWN_GRACE_SECONDS"),
        description="On SIGTERM/SIGINT, how long calls in flight may take to finish before they are cancelled.",
    )

    @field_validator("provider", "fallback_providers", "plugins", "disable_plugins", "default_sinks", mode="before")
    @classmethod
    def _split_commas(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip().lower() for part in value.split(",") if part.strip()]
        return value

    @field_validator("workspace_allowed_roots", mode="before")
    @classmethod
    def _split_paths(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in re.split("[," + re.escape(os.pathsep) + "]", value) if part.strip()]
        return value

    @field_validator("trusted_proxies", "allowed_hosts", "allowed_origins", mode="before")
    @classmethod
    def _split_commas_keep_case(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _check_networks(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError as exc:
                raise ValueError(f"{entry!r} is not an IP address or network") from exc
        return value

    @field_validator("host", mode="before")
    @classmethod
    def _bind_address(cls, value: object) -> object:
        if isinstance(value, str):
            return value.strip() or "127.0.0.1"  # blank would bind every interface
        return value

    @field_validator("log_format", mode="before")
    @classmethod
    def _normalise_format(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("mcp_api_key_file")
    @classmethod
    def _check_key_file(cls, value: Path | None) -> Path | None:
        if value is not None:
            _read_key_file(value)
        return value

    @model_validator(mode="after")
    def _resolve_keys(self) -> Settings:
        """Blank keys count as unset; MCP_API_KEY_FILE fills MCP_API_KEY when that is unset."""
        if self.mcp_api_key is not None:
            # A key pasted with a trailing newline could never match the (trimmed) header value.
            stripped = self.mcp_api_key.get_secret_value().strip()
            self.mcp_api_key = SecretStr(stripped) if stripped else None
        if self.mcp_api_key is None and self.mcp_api_key_file is not None:
            self.mcp_api_key = SecretStr(_read_key_file(self.mcp_api_key_file))
        if self.metrics_api_key is not None and not self.metrics_api_key.get_secret_value().strip():
            self.metrics_api_key = None
        return self

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


def _read_key_file(path: Path) -> str:
    from gpt_image_mcp.safe_files import read_text_file

    key = read_text_file(path, limit=KEY_FILE_MAX_BYTES).strip()
    if not key:
        raise ValueError(f"{path} is empty")
    return key


KEY_FILE_MAX_BYTES = 64 * 1024
ENV_FILE_MAX_BYTES = 1024 * 1024


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
    cleaned = {_env_name(key) if key in Settings.model_fields else key: value for key, value in overrides.items()}
    try:
        return Settings(**{key: value for key, value in cleaned.items() if value is not None})
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "?"
            name = _env_name(field) if field in Settings.model_fields else field
            message = error["msg"].removeprefix("Value error, ")
            problems.append(f"{name}: {message} (got {error.get('input')!r})")
        raise ConfigurationError("invalid configuration:\n  " + "\n  ".join(problems)) from exc


def load_env_file(env_file: Path | None = None) -> None:
    from dotenv import load_dotenv

    path = env_file or Path(os.environ.get("GPT_IMAGE_MCP_ENV_FILE", ".env"))
    if env_file is not None and not path.is_file():
        raise ConfigurationError(f"env file {path} {'is not a file' if path.exists() else 'does not exist'}")
    if not path.is_file():
        return
    from gpt_image_mcp.safe_files import read_text_file

    try:
        text = read_text_file(path, limit=ENV_FILE_MAX_BYTES)
        load_dotenv(stream=io.StringIO(text), override=False)
    except ValueError as exc:  # unreadable, too large, not UTF-8; a NUL byte in a value
        detail = str(exc).removeprefix(f"{path} ") if str(exc).startswith(str(path)) else str(exc)
        if "null byte" in detail:
            detail = "has a NUL byte in a value"
        raise ConfigurationError(f"env file {path} {detail}") from None
