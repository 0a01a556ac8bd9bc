"""`AzureOpenAIProvider`: gpt-image deployments of Azure OpenAI on the OpenAI-compatible base.

Two routes: the deployment route (`{endpoint}/openai/deployments/{deployment}/images/...?api-version=`,
the default) and the v1 route (`{endpoint}/openai/v1/`, model = deployment name). Two ways to authenticate:
the resource's API key (`api-key` header on the deployment route) or an Entra ID token (`Authorization:
Bearer`) from azure-identity, e.g. a managed identity.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import logging
import os
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, ClassVar

from gpt_image_mcp.capabilities import ModelCapabilities, ModelTable
from gpt_image_mcp.errors import ConfigurationError, ImageMCPError
from gpt_image_mcp.types import CheckResult, ImageOptions, Operation
from gpt_image_mcp_openai.compat import ClientConfig, OpenAICompatibleProvider
from gpt_image_mcp_openai.errors import ErrorContext
from gpt_image_mcp_openai.retrying import RetryPolicy, Sleep

from gpt_image_mcp_azure.errors import AzureTarget, map_azure_error

if TYPE_CHECKING:
    from openai import AsyncOpenAI

    from gpt_image_mcp_azure.identity import EntraTokenProvider
    from gpt_image_mcp_azure.settings import AzureSettings

logger = logging.getLogger("gpt_image_mcp_azure")

FALLBACK_MODEL = "gpt-image-2"
#: Output formats the Azure image API documents (webp is OpenAI-only so far).
AZURE_OUTPUT_FORMATS = ("png", "jpeg")


@cache
def known_models() -> frozenset[str]:
    """Model names of core's built-in capability table."""
    return frozenset(ModelTable.default().names())


@dataclass(frozen=True)
class AzureClientConfig(ClientConfig):
    """The base configuration plus what an Azure client needs."""

    endpoint: str = ""
    deployment: str = ""
    api_version: str = ""
    route: str = "deployment"
    credential: str = "api key"
    #: The Entra ID token provider (None with key authentication); shared, so not part of equality.
    token_provider: EntraTokenProvider | None = dataclasses.field(default=None, compare=False)


class AzureOpenAIProvider(OpenAICompatibleProvider):
    """Azure OpenAI image deployments: generate and edit (Azure has no variations)."""

    name = "azure"
    description = "Azure OpenAI image deployments (gpt-image): API key or Entra ID / managed identity."
    operations: ClassVar[frozenset[Operation]] = frozenset({Operation.GENERATE, Operation.EDIT})
    vendors: ClassVar[frozenset[str]] = frozenset({"openai"})
    accepts_unknown_models: ClassVar[bool] = True

    def __init__(self, *, sleep: Sleep | None = None) -> None:
        super().__init__(sleep=sleep)
        self._settings: AzureSettings | None = None
        self._problems: list[str] | None = None
        self._token_providers: dict[tuple[str, str | None], EntraTokenProvider] = {}

    # -- configuration -------------------------------------------------------------------------------

    def settings(self) -> AzureSettings | None:
        """The settings, read from the environment on first use; None when they are invalid."""
        if self._problems is None:
            from gpt_image_mcp_openai.settings import read_settings

            from gpt_image_mcp_azure.settings import AzureSettings

            self._settings, self._problems = read_settings(AzureSettings)
        return self._settings

    def has_credentials(self) -> bool:
        settings = self.settings()
        if settings is None:
            return bool(os.environ.get("AZURE_OPENAI_ENDPOINT"))
        if not (settings.endpoint and settings.deployment):
            return False
        return settings.key is not None or (settings.auth != "key" and entra_available())

    def configuration_problems(self) -> list[str]:
        settings = self.settings()
        problems = list(self._problems or [])
        if settings is None:
            return problems
        if not settings.endpoint:
            problems.append(
                "AZURE_OPENAI_ENDPOINT is not set: the resource endpoint, e.g. https://my-resource.openai.azure.com"
            )
        if not settings.deployment:
            problems.append("AZURE_OPENAI_DEPLOYMENT is not set: the name of the image model deployment")
        if settings.auth == "key" and settings.key is None:
            problems.append("AZURE_OPENAI_AUTH=key but no key is set: set AZURE_OPENAI_API_KEY (or _FILE)")
        if not settings.uses_key and not entra_available():
            problems.append(
                "Entra ID authentication needs azure-identity (pip install azure-identity), or set AZURE_OPENAI_API_KEY"
            )
        return problems

    def default_model(self) -> str:
        """The model the deployment serves: AZURE_OPENAI_MODEL, else the deployment name if it is a known
        model, else gpt-image-2."""
        settings = self.settings()
        if settings is None:
            return FALLBACK_MODEL
        if settings.model:
            return settings.model
        if settings.deployment and settings.deployment in known_models():
            return settings.deployment
        return FALLBACK_MODEL

    def serves(self, model: ModelCapabilities) -> bool:
        """Only the model the deployment serves (a deployment is one model)."""
        return model.vendor in self.vendors and model.name == self.default_model()

    def adapt_capabilities(self, model: ModelCapabilities) -> ModelCapabilities:
        formats = [fmt for fmt in model.output_formats if fmt in AZURE_OUTPUT_FORMATS] or ["png"]
        return model.model_copy(
            update={"operations": model.operations - {Operation.VARIATION}, "output_formats": formats}
        )

    def client_config(self) -> AzureClientConfig:
        settings = self.settings()
        problems = self.configuration_problems()
        if settings is None or problems or not settings.endpoint or not settings.deployment:
            raise ConfigurationError("the azure provider is not configured: " + "; ".join(problems), provider=self.name)
        token_provider = None if settings.uses_key else self.token_provider(settings)
        if settings.route == "v1":
            base_url = f"{settings.endpoint}/openai/v1"
        else:
            base_url = f"{settings.endpoint}/openai/deployments/{settings.deployment}"
        return AzureClientConfig(
            base_url=base_url,
            api_key=settings.key if settings.uses_key else None,
            timeout=settings.timeout,
            retry=RetryPolicy(
                max_retries=settings.max_retries,
                max_wait=settings.retry_max_wait,
                backoff_base=settings.retry_backoff_base,
            ),
            key_variable=settings.key_variable if settings.uses_key else "the Entra ID identity",
            base_url_variable="AZURE_OPENAI_ENDPOINT",
            timeout_variable="AZURE_OPENAI_TIMEOUT",
            endpoint=settings.endpoint,
            deployment=settings.deployment,
            api_version=settings.api_version,
            route=settings.route,
            credential="api key" if token_provider is None else token_provider.label,
            token_provider=token_provider,
        )

    def token_provider(self, settings: AzureSettings) -> EntraTokenProvider:
        """The Entra ID token provider for these settings, created once and reused (it caches the token)."""
        from gpt_image_mcp_azure.identity import EntraTokenProvider, create_credential, credential_label

        key = (settings.credential, settings.client_id)
        if key not in self._token_providers:
            self._token_providers[key] = EntraTokenProvider(
                lambda: create_credential(settings.credential, settings.client_id),
                label=credential_label(settings.credential, settings.client_id),
            )
        return self._token_providers[key]

    # -- client and requests ---------------------------------------------------------------------------

    def create_client(self, config: ClientConfig) -> AsyncOpenAI:
        """`AsyncAzureOpenAI` on the deployment route, `AsyncOpenAI` on the v1 route; SDK retries off."""
        import openai

        if not isinstance(config, AzureClientConfig):
            raise TypeError("the azure provider needs an AzureClientConfig")
        if config.route == "v1":
            return openai.AsyncOpenAI(
                base_url=f"{config.endpoint}/openai/v1/",
                api_key=config.api_key or config.token_provider,
                timeout=config.timeout,
                max_retries=0,
            )
        auth: dict[str, Any] = (
            {"api_key": config.api_key} if config.api_key else {"azure_ad_token_provider": config.token_provider}
        )
        return openai.AsyncAzureOpenAI(
            azure_endpoint=config.endpoint,
            azure_deployment=config.deployment,
            api_version=config.api_version,
            timeout=config.timeout,
            max_retries=0,
            **auth,
        )

    def common_params(self, request: ImageOptions) -> dict[str, Any]:
        """As the base, with `model` = the deployment name (what both routes expect)."""
        params = super().common_params(request)
        settings = self.settings()
        if settings is not None and settings.deployment:
            params["model"] = settings.deployment
        return params

    def map_error(self, exc: Exception, context: ErrorContext) -> ImageMCPError:
        return map_azure_error(exc, context, self._target())

    def _target(self) -> AzureTarget:
        config = self.client_config()
        return AzureTarget(
            endpoint=config.endpoint,
            deployment=config.deployment,
            api_version=config.api_version,
            route=config.route,
            uses_key=config.token_provider is None,
            credential=config.credential,
        )

    # -- validation ------------------------------------------------------------------------------------

    def validation_model(self) -> str:
        return self.default_model()

    async def upstream_checks(self, config: ClientConfig, model: str) -> list[CheckResult]:
        """An Entra ID token (if used), then one call that generates nothing: the route's models list."""
        import openai

        if not isinstance(config, AzureClientConfig):
            raise TypeError("the azure provider needs an AzureClientConfig")
        checks: list[CheckResult] = []
        if config.token_provider is not None:
            try:
                token = await config.token_provider.token()
            except ImageMCPError as exc:
                return [CheckResult(name="identity", ok=False, detail=exc.message)]
            minutes = max(0, round((token.expires_on - config.token_provider.clock()) / 60))
            source = config.token_provider.source()
            detail = f"Entra ID token from {source} ({config.token_provider.label}), valid for {minutes} min"
            checks.append(CheckResult(name="identity", ok=True, detail=detail))
        if config.route == "v1":
            where = f"{config.endpoint}/openai/v1/models"
        else:
            where = f"{config.endpoint}/openai/models?api-version={config.api_version}"
        try:
            await self.client(config).models.list()
        except ImageMCPError as exc:
            return [*checks, CheckResult(name="reachable", ok=False, detail=exc.message)]
        except openai.OpenAIError as exc:
            error = self.map_error(exc, self.error_context(config, model))
            if error.http_status is None:
                return [*checks, CheckResult(name="reachable", ok=False, detail=f"GET {where}: {error.message}")]
            checks.append(CheckResult(name="reachable", ok=True, detail=f"{where} answered (HTTP {error.http_status})"))
            name = "credentials" if error.http_status in (401, 403) else "endpoint"
            return [*checks, CheckResult(name=name, ok=False, detail=error.message)]
        who = "api-key" if config.token_provider is None else "Entra ID token"
        route = f"deployment route, api-version {config.api_version}" if config.route == "deployment" else "v1 route"
        return [
            *checks,
            CheckResult(name="reachable", ok=True, detail=f"{where} answered"),
            CheckResult(name="credentials", ok=True, detail=f"{who} accepted"),
            CheckResult(
                name="deployment",
                ok=True,
                detail=f"{config.deployment} on the {route}, checked as model {model}; a wrong deployment name "
                "shows as HTTP 404 on the first image call",
            ),
        ]

    async def aclose(self) -> None:
        try:
            await super().aclose()
        finally:
            providers, self._token_providers = list(self._token_providers.values()), {}
            for provider in providers:
                provider.close()


def entra_available() -> bool:
    """Whether azure-identity is installed (checked without importing it)."""
    try:
        return importlib.util.find_spec("azure.identity") is not None
    except (ImportError, ValueError):
        return False
