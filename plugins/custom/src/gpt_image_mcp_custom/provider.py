"""`CustomProvider`: any OpenAI-compatible image server (LiteLLM, vLLM-Omni, LocalAI, DeepInfra...).

Servers differ in small ways, so each difference is a switch rather than a guess: whether to send
`response_format`, `size` or `width`/`height`, whether edits exist, extra body fields, LocalAI's inverted
masks, and whether images that come back as URLs may be downloaded (and from where).
"""

from __future__ import annotations

import base64
import io
import os
from functools import cache
from typing import TYPE_CHECKING, Any, ClassVar

from gpt_image_mcp.capabilities import ModelCapabilities, ModelTable
from gpt_image_mcp.errors import BadUpstreamResponseError, ConfigurationError, UnsupportedOperationError
from gpt_image_mcp.progress import Progress
from gpt_image_mcp.types import (
    CheckResult,
    EditRequest,
    ImageOptions,
    ImageResult,
    InputImage,
    Operation,
)
from gpt_image_mcp_openai.compat import ClientConfig, OpenAICompatibleProvider
from gpt_image_mcp_openai.errors import ErrorContext, mask_secrets
from gpt_image_mcp_openai.retrying import RetryPolicy, Sleep

if TYPE_CHECKING:
    from openai import AsyncOpenAI

    from gpt_image_mcp_custom.settings import CustomSettings

#: Sent as the SDK's api_key when the server needs none; the Authorization header is then omitted.
NO_KEY = "no-key"
#: The only variables that can add models to the capability table (matched case-insensitively, as the settings do).
MODEL_VARIABLES = frozenset({"CUSTOM_OPENAI_MODELS", "CUSTOM_OPENAI_DEFAULT_MODEL"})
#: The capability entry each unknown model of CUSTOM_OPENAI_MODELS gets: permissive, overridable by the user.
GENERIC_ENTRY: dict[str, Any] = {
    "vendor": "custom",
    "qualities": ["auto", "low", "medium", "high", "standard", "hd"],
    "backgrounds": ["auto", "opaque", "transparent"],
    "output_formats": ["png", "jpeg", "webp"],
    "moderation": ["auto", "low"],
    "input_fidelity": ["low", "high"],
    "max_n": 10,
    "max_edit_images": 16,
    "max_partial_images": 0,
    "default_size": "1024x1024",
    "notes": "Generic entry for a model of a custom endpoint; refine it in MODEL_CAPABILITIES_FILE.",
    "sizes": {
        "allow_auto": True,
        "presets": ["1024x1024", "1536x1024", "1024x1536", "512x512"],
        "min_edge": 64,
        "max_edge": 4096,
    },
}


@cache
def known_models() -> frozenset[str]:
    """Model names of core's built-in capability table (those keep their own entries)."""
    return frozenset(ModelTable.default().names())


class CustomProvider(OpenAICompatibleProvider):
    """Any OpenAI-compatible image endpoint, adjusted with CUSTOM_OPENAI_* switches."""

    name = "custom"
    description = "Custom OpenAI-compatible endpoint (LiteLLM, vLLM-Omni, LocalAI, DeepInfra...)."
    vendors: ClassVar[frozenset[str]] = frozenset({"custom"})
    accepts_unknown_models: ClassVar[bool] = True

    def __init__(self, *, sleep: Sleep | None = None) -> None:
        super().__init__(sleep=sleep)
        self._settings: CustomSettings | None = None
        self._problems: list[str] | None = None

    # -- configuration -------------------------------------------------------------------------------

    def settings(self) -> CustomSettings | None:
        """The settings, read from the environment on first use; None when they are invalid."""
        if self._problems is None:
            from gpt_image_mcp_openai.settings import read_settings

            from gpt_image_mcp_custom.settings import CustomSettings

            self._settings, self._problems = read_settings(CustomSettings)
        return self._settings

    @property  # type: ignore[override]
    def operations(self) -> frozenset[Operation]:
        """Generate, plus edit unless CUSTOM_OPENAI_SUPPORTS_EDITS=false."""
        settings = self.settings()
        if settings is not None and not settings.supports_edits:
            return frozenset({Operation.GENERATE})
        return frozenset({Operation.GENERATE, Operation.EDIT})

    @property  # type: ignore[override]
    def response_format(self) -> str | None:
        """CUSTOM_OPENAI_RESPONSE_FORMAT (b64_json unless switched off)."""
        settings = self.settings()
        return settings.response_format if settings is not None else "b64_json"

    def has_credentials(self) -> bool:
        settings = self.settings()
        if settings is None:
            return bool(os.environ.get("CUSTOM_OPENAI_BASE_URL"))
        return settings.base_url is not None

    def configuration_problems(self) -> list[str]:
        settings = self.settings()
        problems = list(self._problems or [])
        if settings is not None and settings.base_url is None:
            problems.append(
                "CUSTOM_OPENAI_BASE_URL is not set: the API root of the OpenAI-compatible server, "
                "e.g. http://localhost:4000/v1"
            )
        return problems

    def default_model(self) -> str | None:
        settings = self.settings()
        if settings is None:
            return None
        return settings.default_model or (settings.models[0] if settings.models else None)

    def model_table_layer(self) -> dict[str, dict[str, object]]:
        """A generic entry for each model of CUSTOM_OPENAI_MODELS that the built-in table does not know."""
        if self._problems is None and not any(name.upper() in MODEL_VARIABLES for name in os.environ):
            # Nothing to add: the table is built at every start, and reading the settings there would cost
            # their import and validation (~8 ms) in every server that has this plugin but does not use it.
            return {}
        settings = self.settings()
        if settings is None:
            return {}
        names = [*settings.models, *([settings.default_model] if settings.default_model else [])]
        operations = ["generate", "edit"] if settings.supports_edits else ["generate"]
        return {
            name: {**GENERIC_ENTRY, "title": f"{name} (custom endpoint)", "operations": operations}
            for name in dict.fromkeys(names)
            if name not in known_models()
        }

    def serves(self, model: ModelCapabilities) -> bool:
        """The models of CUSTOM_OPENAI_MODELS; without that list, OpenAI's models (a proxy in front of OpenAI)."""
        settings = self.settings()
        if settings is not None and settings.models:
            return model.name in settings.models or model.name == settings.default_model
        return model.vendor in {"custom", "openai"}

    def adapt_capabilities(self, model: ModelCapabilities) -> ModelCapabilities:
        return model.model_copy(update={"operations": model.operations & self.operations})

    def client_config(self) -> ClientConfig:
        settings = self.settings()
        problems = self.configuration_problems()
        if settings is None or problems or settings.base_url is None:
            raise ConfigurationError(
                "the custom provider is not configured: " + "; ".join(problems), provider=self.name
            )
        return ClientConfig(
            base_url=settings.base_url,
            api_key=settings.key,
            timeout=settings.timeout,
            retry=RetryPolicy(
                max_retries=settings.max_retries,
                max_wait=settings.retry_max_wait,
                backoff_base=settings.retry_backoff_base,
            ),
            key_variable=settings.key_variable,
            base_url_variable="CUSTOM_OPENAI_BASE_URL",
            timeout_variable="CUSTOM_OPENAI_TIMEOUT",
        )

    def create_client(self, config: ClientConfig) -> AsyncOpenAI:
        """As the base, but never falls back to OPENAI_API_KEY: without a key no Authorization is sent."""
        import openai

        return openai.AsyncOpenAI(
            api_key=config.api_key or NO_KEY,
            base_url=config.base_url,
            timeout=config.timeout,
            max_retries=0,
        )

    # -- requests --------------------------------------------------------------------------------------

    def _current(self) -> CustomSettings:
        settings = self.settings()
        if settings is None:
            raise ConfigurationError(
                "the custom provider is not configured: " + "; ".join(self.configuration_problems()),
                provider=self.name,
            )
        return settings

    def common_params(self, request: ImageOptions) -> dict[str, Any]:
        """The base parameters, shaped by the switches: extra body, size style, no key."""
        settings = self._current()
        params = super().common_params(request)
        extra = {**settings.extra_body, **params.pop("extra_body", {})}
        if settings.size_style == "width_height" and "size" in params:
            dimensions = request.dimensions()
            del params["size"]
            if dimensions is not None:
                extra["width"], extra["height"] = dimensions
        if extra:
            params["extra_body"] = extra
        if settings.key is None:
            params["extra_headers"] = no_auth_headers()
        return params

    def edit_params(self, request: EditRequest) -> dict[str, Any]:
        params = super().edit_params(request)
        if request.mask is not None and self._current().mask_inverted:
            params["mask"] = ("mask.png", invert_alpha(request.mask), "image/png")
        return params

    async def edit(self, request: EditRequest, progress: Progress) -> ImageResult:
        if Operation.EDIT not in self.operations:
            raise UnsupportedOperationError(
                "the custom endpoint has no edits (CUSTOM_OPENAI_SUPPORTS_EDITS=false)", provider=self.name
            )
        return await super().edit(request, progress)

    # -- responses -------------------------------------------------------------------------------------

    async def complete_response(self, response: Any, request: ImageOptions, context: ErrorContext) -> Any:
        """Images sent as URLs: data: URLs are decoded; others downloaded only when allowed."""
        from gpt_image_mcp_custom.fetch import FetchPolicy, FetchRefused, decode_data_url, fetch_image

        settings = self._current()
        policy = FetchPolicy(
            enabled=settings.fetch_urls,
            hosts=tuple(settings.allowed_hosts),
            max_bytes=settings.fetch_max_bytes,
            timeout=settings.fetch_timeout,
        )
        for index, item in enumerate(getattr(response, "data", None) or []):
            url = getattr(item, "url", None)
            if getattr(item, "b64_json", None) or not isinstance(url, str) or not url:
                continue
            try:
                data = decode_data_url(url)
                if data is None:
                    if not policy.enabled:
                        raise FetchRefused(self._url_hint(settings))
                    data = await fetch_image(url, policy)
            except FetchRefused as exc:
                raise BadUpstreamResponseError(
                    mask_secrets(f"{self.name} returned image {index + 1} as a URL ({url}): {exc}", context.secrets),
                    provider=self.name,
                    model=request.model,
                ) from None
            item.b64_json = base64.b64encode(data).decode()
        return response

    @staticmethod
    def _url_hint(settings: CustomSettings) -> str:
        ask = (
            "the server ignored response_format=b64_json"
            if settings.response_format == "b64_json"
            else "set CUSTOM_OPENAI_RESPONSE_FORMAT=b64_json if the server can send image data"
        )
        return (
            f"downloading images is off; {ask}, or allow downloads with CUSTOM_OPENAI_FETCH_URLS=true (only from "
            "the hosts in CUSTOM_OPENAI_FETCH_HOSTS, by default the host of CUSTOM_OPENAI_BASE_URL)"
        )

    # -- validation ------------------------------------------------------------------------------------

    def validation_model(self) -> str:
        return self.default_model() or "gpt-image-2"

    async def upstream_checks(self, config: ClientConfig, model: str) -> list[CheckResult]:
        """One GET /models: reachability, the key (if any), whether the model is listed."""
        import openai

        where = f"{config.base_url}/models"
        headers = no_auth_headers() if config.api_key is None else None
        try:
            listed = await self.client(config).get("/models", cast_to=object, options={"headers": headers or {}})
        except openai.OpenAIError as exc:
            error = self.map_error(exc, self.error_context(config, model))
            status = error.http_status
            if status is None:
                return [CheckResult(name="reachable", ok=False, detail=f"GET {where}: {error.message}")]
            reached = CheckResult(name="reachable", ok=True, detail=f"{where} answered (HTTP {status})")
            if status in (401, 403):
                return [reached, CheckResult(name="credentials", ok=False, detail=error.message)]
            if status in (404, 405):
                detail = f"the server has no model list (HTTP {status}); model {model} is checked by the first call"
                return [reached, CheckResult(name="model", ok=True, detail=detail)]
            return [reached, CheckResult(name="upstream", ok=False, detail=error.message)]
        ids = listed_ids(listed)
        key = "CUSTOM_OPENAI_API_KEY accepted" if config.api_key else "no key needed"
        checks = [
            CheckResult(name="reachable", ok=True, detail=f"{where} answered"),
            CheckResult(name="credentials", ok=True, detail=key),
        ]
        if not ids or model in ids:
            found = (
                f"model {model} is listed" if ids else f"the model list is empty; {model} is checked by the first call"
            )
            checks.append(CheckResult(name="model", ok=True, detail=found))
        else:
            shown = ", ".join(sorted(ids)[:10])
            checks.append(
                CheckResult(
                    name="model", ok=False, detail=f"model {model} is not listed by the server (it lists {shown})"
                )
            )
        return checks


def no_auth_headers() -> dict[str, Any]:
    """Per-request headers that make the SDK send no Authorization header."""
    import openai

    return {"Authorization": openai.Omit()}


def invert_alpha(mask: InputImage) -> bytes:
    """The mask as PNG with its alpha inverted (transparent <-> opaque), for servers with LocalAI's convention."""
    from PIL import Image, ImageOps

    with Image.open(io.BytesIO(mask.data)) as opened:
        rgba = opened.convert("RGBA")
    red, green, blue, alpha = rgba.split()
    inverted = Image.merge("RGBA", (red, green, blue, ImageOps.invert(alpha)))
    buffer = io.BytesIO()
    inverted.save(buffer, format="PNG")
    return buffer.getvalue()


def listed_ids(listed: Any) -> set[str]:
    """Model ids from a /models answer ({"data": [...]} or a bare list)."""
    items = listed.get("data") if isinstance(listed, dict) else listed
    if not isinstance(items, list):
        return set()
    return {str(item["id"]) for item in items if isinstance(item, dict) and isinstance(item.get("id"), str)}
