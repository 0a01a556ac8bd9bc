"""`TogetherProvider`: Together AI's image API (FLUX models) on the OpenAI-compatible base.

Together takes `width`/`height` instead of `size`, and `steps`, `seed` and `negative_prompt`; it has no
edits, no streaming and reports no usage. Its FLUX models enter the capability table as data (vendor
"together"), which users can override like any other entry.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, ClassVar

from gpt_image_mcp.errors import ConfigurationError, ImageMCPError, InvalidRequestError, RefusedError
from gpt_image_mcp.progress import Progress
from gpt_image_mcp.provider import ImageProvider
from gpt_image_mcp.types import (
    CheckResult,
    EditRequest,
    GenerateRequest,
    ImageOptions,
    ImageResult,
    Operation,
)
from gpt_image_mcp_openai.compat import ClientConfig, OpenAICompatibleProvider
from gpt_image_mcp_openai.errors import ErrorContext, map_openai_error
from gpt_image_mcp_openai.retrying import RetryPolicy, Sleep

if TYPE_CHECKING:
    from gpt_image_mcp_together.settings import TogetherSettings

KEY_HINT = (
    "set TOGETHER_API_KEY (or TOGETHER_API_KEY_FILE) to an API key from https://api.together.ai/settings/api-keys"
)
_FLUX_SIZES = ["1024x1024", "1024x768", "768x1024", "1280x720", "720x1280", "1344x768", "768x1344"]

#: FLUX models on Together, in the capability table's shape (sizes as rules: edges multiples of 16, max edge).
MODEL_TABLE: dict[str, dict[str, Any]] = {
    "black-forest-labs/FLUX.1-schnell": {
        "title": "FLUX.1 [schnell] (Together)",
        "vendor": "together",
        "operations": ["generate"],
        "qualities": [],
        "backgrounds": [],
        "output_formats": ["jpeg", "png"],
        "moderation": [],
        "max_n": 4,
        "max_prompt_chars": 4000,
        "max_edit_images": 0,
        "max_partial_images": 0,
        "default_size": "1024x1024",
        "notes": "Fast, 1-12 steps (default 4).",
        "sizes": {"allow_auto": True, "presets": _FLUX_SIZES, "multiple_of": 16, "min_edge": 256, "max_edge": 1792},
    },
    "black-forest-labs/FLUX.1-dev": {
        "extends": "black-forest-labs/FLUX.1-schnell",
        "title": "FLUX.1 [dev] (Together)",
        "notes": "Higher quality, 1-50 steps (default 28).",
    },
    "black-forest-labs/FLUX.1.1-pro": {
        "extends": "black-forest-labs/FLUX.1-schnell",
        "title": "FLUX1.1 [pro] (Together)",
        "max_n": 1,
        "notes": "Edges multiples of 32, 256-1440 px.",
        "sizes": {"presets": ["1024x1024", "1024x768", "768x1024", "1440x800", "800x1440"], "multiple_of": 32,
                  "max_edge": 1440},
    },
}  # fmt: skip

#: Largest `steps` per model; other models get GENERIC_MAX_STEPS.
MAX_STEPS = {"black-forest-labs/FLUX.1-schnell": 12}
GENERIC_MAX_STEPS = 50
#: Provider-specific options a caller may pass (in `extra`), and the type each must have.
OPTIONS: dict[str, tuple[type, ...]] = {
    "steps": (int,),
    "seed": (int,),
    "negative_prompt": (str,),
    "guidance": (int, float),
}
_IGNORED = ("quality", "background", "output_compression", "moderation", "user")


class TogetherProvider(OpenAICompatibleProvider):
    """Together AI: text-to-image with FLUX models (generate only)."""

    name = "together"
    description = "Together AI (FLUX models): generate only, with width/height, steps, seed and negative prompts."
    operations: ClassVar[frozenset[Operation]] = frozenset({Operation.GENERATE})
    vendors: ClassVar[frozenset[str]] = frozenset({"together"})
    accepts_unknown_models: ClassVar[bool] = True
    #: Together's spec names `base64`; the answer carries `b64_json` either way.
    response_format: ClassVar[str | None] = "base64"
    accepts_seed: ClassVar[bool] = True

    def __init__(self, *, sleep: Sleep | None = None) -> None:
        super().__init__(sleep=sleep)
        self._settings: TogetherSettings | None = None
        self._problems: list[str] | None = None

    # -- configuration -------------------------------------------------------------------------------

    def settings(self) -> TogetherSettings | None:
        """The settings, read from the environment on first use; None when they are invalid."""
        if self._problems is None:
            from gpt_image_mcp_openai.settings import read_settings

            from gpt_image_mcp_together.settings import TogetherSettings

            self._settings, self._problems = read_settings(TogetherSettings)
        return self._settings

    def has_credentials(self) -> bool:
        settings = self.settings()
        if settings is None:
            return bool(os.environ.get("TOGETHER_API_KEY") or os.environ.get("TOGETHER_API_KEY_FILE"))
        return settings.key is not None

    def configuration_problems(self) -> list[str]:
        settings = self.settings()
        problems = list(self._problems or [])
        if settings is not None and settings.key is None:
            problems.append(f"no Together API key: {KEY_HINT}")
        return problems

    def default_model(self) -> str | None:
        settings = self.settings()
        return settings.default_model if settings else None

    def model_table_layer(self) -> dict[str, dict[str, object]]:
        return {name: dict(entry) for name, entry in MODEL_TABLE.items()}

    def client_config(self) -> ClientConfig:
        settings = self.settings()
        problems = self.configuration_problems()
        if settings is None or problems:
            raise ConfigurationError(
                "the together provider is not configured: " + "; ".join(problems), provider=self.name
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
            base_url_variable="TOGETHER_BASE_URL",
            timeout_variable="TOGETHER_TIMEOUT",
        )

    # -- requests --------------------------------------------------------------------------------------

    def generate_params(self, request: GenerateRequest) -> dict[str, Any]:
        """Together's body: `width`/`height` instead of `size`, options checked before the call."""
        options = self.check_options(request)
        params: dict[str, Any] = {
            "model": request.model,
            "prompt": request.prompt,
            "n": request.n,
            "response_format": self.response_format,
        }
        if request.output_format is not None:
            params["output_format"] = request.output_format
        dimensions = request.dimensions()
        if dimensions is not None:
            options["width"], options["height"] = dimensions
        if options:
            params["extra_body"] = options
        return params

    def check_options(self, request: ImageOptions) -> dict[str, Any]:
        """The provider options to send (`extra` plus `seed`), or `InvalidRequestError` naming every problem."""
        options = dict(request.extra)
        if request.seed is not None:
            options["seed"] = request.seed
        problems = []
        unknown = sorted(set(options) - set(OPTIONS))
        if unknown:
            problems.append(f"unknown option(s) {', '.join(unknown)}; Together accepts {', '.join(OPTIONS)}")
        for name, types in OPTIONS.items():
            value = options.get(name)
            if value is not None and (not isinstance(value, types) or isinstance(value, bool)):
                problems.append(f"{name} must be {' or '.join(t.__name__ for t in types)} (got {value!r})")
        steps = options.get("steps")
        if isinstance(steps, int) and not isinstance(steps, bool):
            most = MAX_STEPS.get(request.model, GENERIC_MAX_STEPS)
            if not 1 <= steps <= most:
                problems.append(f"steps must be between 1 and {most} for {request.model} (got {steps})")
        if problems:
            raise InvalidRequestError(
                f"invalid request for {request.model}: " + "; ".join(problems), provider=self.name, model=request.model
            )
        return {key: value for key, value in options.items() if value is not None}

    def ignored_options(self, request: ImageOptions) -> list[str]:
        """Options Together does not take (only reachable for models outside the table)."""
        ignored = [name for name in _IGNORED if getattr(request, name) is not None]
        return [f"{', '.join(ignored)} not supported by together and not sent"] if ignored else []

    async def edit(self, request: EditRequest, progress: Progress) -> ImageResult:
        """Together has no edit endpoint: refuse without calling it."""
        return await ImageProvider.edit(self, request, progress)

    def map_error(self, exc: Exception, context: ErrorContext) -> ImageMCPError:
        error = map_openai_error(exc, context)
        if error.http_status in (400, 422) and "nsfw" in error.message.lower():
            return RefusedError(
                f"Together's safety checker refused this request: {error.message}. Rephrase the prompt; sending "
                "the same request again will not help.",
                provider=self.name,
                model=context.model,
                http_status=error.http_status,
                request_id=error.request_id,
            )
        return error

    # -- validation ------------------------------------------------------------------------------------

    async def upstream_checks(self, config: ClientConfig, model: str) -> list[CheckResult]:
        """One GET /models: reachability, the key, and whether the default model is offered."""
        import openai

        where = f"{config.base_url}/models"
        try:
            listed = await self.client(config).get("/models", cast_to=object)
        except openai.OpenAIError as exc:
            error = self.map_error(exc, self.error_context(config, model))
            if error.http_status is None:
                return [CheckResult(name="reachable", ok=False, detail=f"GET {where}: {error.message}")]
            reached = CheckResult(name="reachable", ok=True, detail=f"{where} answered (HTTP {error.http_status})")
            name = "credentials" if error.http_status in (401, 403) else "upstream"
            return [reached, CheckResult(name=name, ok=False, detail=error.message)]
        ids = model_ids(listed)
        checks = [
            CheckResult(name="reachable", ok=True, detail=f"{where} answered"),
            CheckResult(name="credentials", ok=True, detail="TOGETHER_API_KEY accepted"),
        ]
        if model in ids:
            checks.append(CheckResult(name="model", ok=True, detail=f"model {model} is available"))
        else:
            images = sorted(i for i, kind in ids.items() if kind == "image")[:10]
            offered = f"; image models offered include {', '.join(images)}" if images else ""
            detail = f"model {model} is not in Together's model list{offered}"
            checks.append(CheckResult(name="model", ok=False, detail=detail))
        return checks


def model_ids(listed: Any) -> dict[str, str]:
    """{model id: type} from Together's /models answer (a JSON array, or an OpenAI-style {"data": [...]})."""
    items = listed.get("data") if isinstance(listed, dict) else listed
    if not isinstance(items, list):
        return {}
    return {
        str(item["id"]): str(item.get("type") or "")
        for item in items
        if isinstance(item, dict) and isinstance(item.get("id"), str)
    }
