"""Settings of the Azure OpenAI provider: AZURE_OPENAI_* variables, read on first use."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from gpt_image_mcp_openai.settings import ApiKeySettings, env, http_url
from pydantic import Field, SecretStr, field_validator

DEFAULT_API_VERSION = "2025-04-01-preview"
#: The token scope of Azure OpenAI (Cognitive Services) for Entra ID.
ENTRA_SCOPE = "https://cognitiveservices.azure.com/.default"

AuthMode = Literal["key", "entra", "auto"]
Route = Literal["deployment", "v1"]
CredentialKind = Literal["default", "managed_identity"]

# What users paste from the portal or from code samples: keep the resource endpoint only.
_ROUTE_SUFFIX = re.compile(r"(/openai(/v1|/deployments/[^/]+)?)?/*$", re.IGNORECASE)


class AzureSettings(ApiKeySettings):
    """AZURE_OPENAI_* variables, plus AZURE_CLIENT_ID for a user-assigned managed identity."""

    endpoint: str | None = Field(
        None,
        validation_alias=env("endpoint", "AZURE_OPENAI_ENDPOINT"),
        description="Resource endpoint, e.g. https://my-resource.openai.azure.com.",
    )
    deployment: str | None = Field(
        None,
        validation_alias=env("deployment", "AZURE_OPENAI_DEPLOYMENT"),
        description="Name of the image model deployment.",
    )
    api_version: str = Field(
        DEFAULT_API_VERSION,
        validation_alias=env("api_version", "AZURE_OPENAI_API_VERSION"),
        description="api-version query parameter of the deployment route.",
    )
    api_key: SecretStr | None = Field(None, validation_alias=env("api_key", "AZURE_OPENAI_API_KEY"))
    api_key_file: Path | None = Field(
        None,
        validation_alias=env("api_key_file", "AZURE_OPENAI_API_KEY_FILE"),
        description="File holding the API key; used when AZURE_OPENAI_API_KEY is unset.",
    )
    auth: AuthMode = Field(
        "auto",
        validation_alias=env("auth", "AZURE_OPENAI_AUTH"),
        description="key, entra, or auto (the key when one is set, else Entra ID).",
    )
    credential: CredentialKind = Field(
        "default",
        validation_alias=env("credential", "AZURE_OPENAI_CREDENTIAL"),
        description="Entra ID credential: default (DefaultAzureCredential) or managed_identity.",
    )
    client_id: str | None = Field(
        None,
        validation_alias=env("client_id", "AZURE_CLIENT_ID"),
        description="Client ID of a user-assigned managed identity.",
    )
    route: Route = Field(
        "deployment",
        validation_alias=env("route", "AZURE_OPENAI_ROUTE"),
        description="deployment (/openai/deployments/<name>/...?api-version=) or v1 (/openai/v1/).",
    )
    model: str | None = Field(
        None,
        validation_alias=env("model", "AZURE_OPENAI_MODEL"),
        description="Model the deployment serves, for capability checks (default: the deployment name if it is a "
        "known model, else gpt-image-2).",
    )
    timeout: float = Field(
        600.0,
        gt=0,
        validation_alias=env("timeout", "AZURE_OPENAI_TIMEOUT"),
        description="Seconds to wait for one upstream answer.",
    )

    @field_validator("auth", "route", "credential", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.strip().lower().replace("-", "_") if isinstance(value, str) else value

    @field_validator("endpoint")
    @classmethod
    def _check_endpoint(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return _ROUTE_SUFFIX.sub("", http_url(value, "https://my-resource.openai.azure.com"))

    @field_validator("deployment", "model", "client_id", "api_version")
    @classmethod
    def _strip(cls, value: str | None) -> str | None:
        return value.strip() if isinstance(value, str) else value

    @property
    def uses_key(self) -> bool:
        """Whether calls authenticate with the API key (else with an Entra ID token)."""
        return self.auth == "key" or (self.auth == "auto" and self.key is not None)
