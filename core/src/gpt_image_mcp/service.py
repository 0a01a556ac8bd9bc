"""The path of one call, shared by the MCP tools and the CLI.

validate against the model's capabilities -> provider call -> sinks -> outcome. Nothing here knows MCP.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import anyio
from pydantic import ValidationError

from gpt_image_mcp.capabilities import ModelCapabilities, ModelTable
from gpt_image_mcp.errors import (
    BadUpstreamResponseError,
    ConfigurationError,
    ImageMCPError,
    InvalidRequestError,
    UnsupportedOperationError,
    brief,
)
from gpt_image_mcp.plugins import PluginSelection, Registry, load_registry
from gpt_image_mcp.progress import Progress
from gpt_image_mcp.provider import ImageProvider
from gpt_image_mcp.safe_files import sanitize_subfolder
from gpt_image_mcp.sanitize import sanitize_prompt
from gpt_image_mcp.settings import Settings
from gpt_image_mcp.sink import ImageSink, SaveContext, SavedImage
from gpt_image_mcp.store import ImageStore, StoredImage
from gpt_image_mcp.types import (
    EditRequest,
    GeneratedImage,
    GenerateRequest,
    ImageRequest,
    ImageResult,
    InputImage,
    Operation,
    VariationRequest,
)
from gpt_image_mcp.validation import check_request, normalise_size

logger = logging.getLogger(__name__)

OFFLINE = "offline"
APP_NAME = "gpt-image-mcp"
#: Names `options` (a request's `extra`) may not carry: they would override what was checked, or the wire format.
RESERVED_OPTIONS = frozenset(
    # `user` (OpenAI's end-user id) has no tool argument: options is how it is sent.
    {*GenerateRequest.model_fields, *EditRequest.model_fields, *VariationRequest.model_fields} - {"extra", "user"}
    | {"stream", "response_format", "width", "height", "response_type", "extra_body", "extra_headers", "extra_query"}
)
#: Providers with an extra of the root distribution (`pip install 'gpt-image-mcp[azure]'`).
BUNDLED_PROVIDERS = frozenset({"openai", "azure", "together", "custom"})
#: Images up to this size are written to the store on the event loop and synced to disk in the background;
#: larger ones are written and synced in a worker thread before the call goes on.
STORE_ON_LOOP_BYTES = 512 * 1024


@dataclass(frozen=True)
class Delivery:
    """Where a call's images go: sinks (None: the configured defaults) and file-output wishes."""

    sinks: Sequence[str] | None = None
    workspace: Path | None = None
    filename: str | None = None
    subfolder: str | None = None


@dataclass
class DeliveredImage:
    """One image of a finished call: its record in the store and every place a sink put it."""

    stored: StoredImage
    saved: list[SavedImage] = field(default_factory=list)

    @property
    def image_id(self) -> str:
        return self.stored.id

    @property
    def inline(self) -> bool:
        return any(location.inline for location in self.saved)


@dataclass
class CallOutcome:
    result: ImageResult
    delivered: list[DeliveredImage]
    notes: list[str]
    prompt: str | None = None
    original_prompt: str | None = None

    def with_notes(self, notes: list[str], *, original_prompt: str | None = None) -> CallOutcome:
        prompt = original_prompt if original_prompt is not None else self.original_prompt
        return replace(self, notes=[*self.notes, *notes], original_prompt=prompt)


class ImageService:
    """Selected providers, the merged capability table and the call path."""

    def __init__(self, settings: Settings, registry: Registry) -> None:
        self.settings = settings
        self.registry = registry
        # The table first: a provider whose capability layer is broken is dropped before providers are chosen.
        self.table = build_model_table(registry, settings)
        self.providers = self._select_providers()
        self.default_provider = next(iter(self.providers))
        self.store = ImageStore(
            settings.image_store_dir or default_store_dir(),
            max_count=settings.image_store_max_count,
            max_bytes=settings.image_store_max_bytes,
        )

    @classmethod
    def create(cls, settings: Settings, *, extra_plugins: Sequence[tuple[str, object]] = ()) -> ImageService:
        return cls(settings, load_registry(plugin_selection(settings), extra_plugins=extra_plugins))

    # -- configuration -------------------------------------------------------------------------------

    def _select_providers(self) -> dict[str, ImageProvider]:
        available = self.registry.providers
        for setting, names in (
            ("PROVIDER", self.settings.provider),
            ("FALLBACK_PROVIDERS", self.settings.fallback_providers),
        ):
            unknown = [name for name in names if name not in available]
            if unknown:
                raise ConfigurationError(self._not_installed(setting, unknown))
        if self.settings.provider:
            names = [*self.settings.provider, *self.settings.fallback_providers]
            return {name: available[name] for name in dict.fromkeys(names)}
        configured = {
            name: provider for name, provider in available.items() if name != OFFLINE and _has_credentials(provider)
        }
        if configured:
            logger.info("Auto-detected provider(s) from credentials: %s", ", ".join(configured))
            return configured | {name: available[name] for name in self.settings.fallback_providers}
        logger.warning(
            "No image provider is configured: using the offline provider, which draws placeholder images. "
            "Set PROVIDER and its credentials (e.g. OPENAI_API_KEY) for real images."
        )
        return {OFFLINE: available[OFFLINE]} | {name: available[name] for name in self.settings.fallback_providers}

    def _not_installed(self, setting: str, unknown: list[str]) -> str:
        message = f"{setting} names {', '.join(unknown)}, which is not installed. Installed providers: "
        message += f"{', '.join(self.registry.providers)}."
        failed = [f"{info.name} ({info.error})" for info in self.registry.failed_plugins()]
        if failed:
            message += f" Plugins that failed to load: {'; '.join(failed)}."
        bundled = [name for name in unknown if name in BUNDLED_PROVIDERS]
        if bundled:
            message += f" Install it with: pip install 'gpt-image-mcp[{bundled[0]}]'"
        return message

    def provider(self, name: str | None) -> ImageProvider:
        if name is None:
            return self.providers[self.default_provider]
        key = name.strip().lower()
        if key not in self.providers:
            raise InvalidRequestError(
                f"provider {brief(name)} is not enabled; enabled providers: {', '.join(self.providers)}"
            )
        return self.providers[key]

    def models_for(self, provider: ImageProvider) -> list[ModelCapabilities]:
        """Models of the table the provider serves and that are not retired."""
        return [
            provider.adapt_capabilities(model) for model in self.table if provider.serves(model) and not model.retired
        ]

    def default_model_for(self, provider: ImageProvider) -> str:
        return provider.default_model() or self.settings.default_model

    def resolve_model(
        self, provider: ImageProvider, model: str | None, *, quiet: bool = False
    ) -> tuple[str, ModelCapabilities | None, list[str]]:
        """The model to use, its capabilities as this provider offers them (None if unknown), notes (logged unless
        `quiet`: readiness probes ask every few seconds)."""
        name = (model or "").strip() or self.default_model_for(provider)
        caps = self.table.get(name)
        if caps is not None and provider.serves(caps):
            return name, provider.adapt_capabilities(caps), []
        served = ", ".join(model.name for model in self.models_for(provider)) or "none"
        if caps is not None:
            raise InvalidRequestError(
                f"model {name} is not served by provider {provider.name}; its models: {served}", model=name
            )
        if provider.accepts_unknown_models:
            note = f"model {brief(name)} is not in the capability table, so only generic checks were made"
            if not quiet:
                logger.warning(note)
            return name, None, [note]
        raise InvalidRequestError(
            f"unknown model {brief(name)} for provider {provider.name}; use one of: {served}", model=name
        )

    # -- the call path ---------------------------------------------------------------------------------

    async def generate(
        self,
        *,
        provider: str | None = None,
        delivery: Delivery | None = None,
        progress: Progress | None = None,
        **fields: Any,
    ) -> CallOutcome:
        return await self._run(Operation.GENERATE, GenerateRequest, provider, delivery, progress, fields)

    async def edit(
        self,
        *,
        images: list[InputImage],
        mask: InputImage | None = None,
        provider: str | None = None,
        delivery: Delivery | None = None,
        progress: Progress | None = None,
        **fields: Any,
    ) -> CallOutcome:
        fields |= {"images": images, "mask": mask}
        return await self._run(Operation.EDIT, EditRequest, provider, delivery, progress, fields)

    async def variation(
        self,
        *,
        image: InputImage,
        provider: str | None = None,
        delivery: Delivery | None = None,
        progress: Progress | None = None,
        **fields: Any,
    ) -> CallOutcome:
        fields |= {"image": image}
        return await self._run(Operation.VARIATION, VariationRequest, provider, delivery, progress, fields)

    async def _run(
        self,
        operation: Operation,
        request_type: type[GenerateRequest] | type[EditRequest] | type[VariationRequest],
        provider_name: str | None,
        delivery: Delivery | None,
        progress: Progress | None,
        fields: dict[str, Any],
    ) -> CallOutcome:
        first = self.provider(provider_name)
        chain = [first, *(self.providers[name] for name in self.settings.fallback_providers if name != first.name)]
        model = fields.pop("model", None)
        progress = progress or Progress()
        failures: list[str] = []
        upstream_error: ImageMCPError | None = None
        for position, provider in enumerate(chain):
            try:
                outcome = await self._run_with(
                    operation, request_type, provider, delivery or Delivery(), progress, model, dict(fields)
                )
            except ImageMCPError as exc:
                exc.provider = exc.provider or provider.name
                exc.model = exc.model or model or self.default_model_for(provider)
                # Fall back only on upstream trouble (never after a refusal or an invalid request); a fallback
                # provider that cannot take this request (another model family) is passed over.
                passed_over = position > 0 and isinstance(exc, InvalidRequestError)
                if not (exc.retryable or passed_over) or position + 1 == len(chain):
                    # Fallbacks that merely could not take the request must not hide the upstream failure.
                    final = upstream_error if passed_over and upstream_error is not None else exc
                    if failures:
                        tried = [*failures, f"{provider.name} failed with {exc.code}: {exc.message}"]
                        final.message = f"{final.message} (providers tried: {'; '.join(tried)})"
                    if final is exc:
                        raise
                    raise final from None
                if exc.retryable:
                    upstream_error = exc
                failures.append(f"{provider.name} failed with {exc.code}: {exc.message}")
                logger.warning("Provider %s failed (%s); falling back to the next provider", provider.name, exc.code)
                await progress.stage(f"{provider.name} failed ({exc.code}); trying {chain[position + 1].name}")
                continue
            return outcome.with_notes([f"fell back from {failure}" for failure in failures]) if failures else outcome
        raise AssertionError("the provider chain is never empty")

    async def _run_with(
        self,
        operation: Operation,
        request_type: type[GenerateRequest] | type[EditRequest] | type[VariationRequest],
        provider: ImageProvider,
        delivery: Delivery,
        progress: Progress,
        model_name: str | None,
        fields: dict[str, Any],
    ) -> CallOutcome:
        model, caps, notes = self.resolve_model(provider, model_name)
        sinks = self._sinks(delivery.sinks if delivery.sinks is not None else self.settings.default_sinks)
        sanitize_subfolder(delivery.subfolder)  # a subfolder too deep fails now, not after the image is paid for
        if operation not in provider.operations:
            hint = "; use image_edit with a prompt instead" if operation is Operation.VARIATION else ""
            raise UnsupportedOperationError(f"provider {provider.name} does not support {operation.value}{hint}")
        values = {key: value for key, value in fields.items() if value is not None}
        overridden = sorted(key for key in values.get("extra") or {} if _wire_name(key) in RESERVED_OPTIONS)
        if overridden:
            raise InvalidRequestError(
                f"options may not set {', '.join(overridden)}: pass them as the tool's own arguments, which are "
                "checked against the model"
            )
        values["size"] = normalise_size(values.get("size"))
        if "prompt" in values:
            values["prompt"] = sanitize_prompt(values["prompt"])
        try:
            request = request_type(model=model, **values)
        except ValidationError as exc:  # a caller of this API (a CLI, a plugin's test) passed a wrong field
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'request'}: {e['msg']}" for e in exc.errors())
            raise InvalidRequestError(f"invalid {operation.value} request: {problems}") from None
        check_request(request, operation, caps)
        if caps is not None and caps.shutdown_date:
            notes.append(f"{caps.name} is scheduled to shut down upstream on {caps.shutdown_date.isoformat()}")

        await progress.stage(f"waiting for {provider.name} ({model})")
        result = await self._call(provider, operation, request, progress)
        if not result.images:
            raise BadUpstreamResponseError(f"provider {provider.name} returned no images")
        notes += _mismatches(provider.name, request, result)
        await progress.stage("saving images")
        prompt = getattr(request, "prompt", None)
        # Into the store first, all of them: from here on nothing that was paid for can be lost.
        stored: list[StoredImage] = []
        for image in result.images:  # no image of this call is evicted to make room for another of it
            stored.append(await self._store(image, result, keep=[record.id for record in stored]))
        if any(record.in_memory for record in stored):
            problem = self.store.write_problem or f"cannot write to the image store {self.store.folder}"
            notes.append(
                f"{problem}: the images are kept in memory until the server stops (their image:// links work until "
                "then); free disk space or set IMAGE_STORE_DIR to a writable folder"
            )
        base = SaveContext(
            provider=result.provider,
            model=result.model,
            prompt=prompt,
            image_id="",
            workspace=str(delivery.workspace or self.workspace_dir()),
            filename=delivery.filename,
            subfolder=delivery.subfolder,
        )
        delivered = []
        for index, (image, record) in enumerate(zip(result.images, stored, strict=True)):
            context = base.model_copy(update={"index": index, "image_id": record.id})
            delivered.append(await self._deliver(image, record, context, sinks, notes))
        return CallOutcome(result=result, delivered=delivered, notes=[*result.notes, *notes], prompt=prompt)

    async def _store(self, image: GeneratedImage, result: ImageResult, keep: Sequence[str] = ()) -> StoredImage:
        if len(image.data) <= STORE_ON_LOOP_BYTES:
            # Writing a small file takes less than handing it to a worker thread, which under load costs a
            # third of a call's CPU; a background thread syncs it to disk moments later.
            return self.store.put(image, provider=result.provider, model=result.model, sync=False, keep=keep)
        return await anyio.to_thread.run_sync(
            lambda: self.store.put(image, provider=result.provider, model=result.model, keep=keep)
        )

    def workspace_dir(self) -> Path:
        """The folder for file output when no client root applies: OUTPUT_DIR, else the pictures folder."""
        if self.settings.output_dir is not None:
            return self.settings.output_dir.expanduser()
        import platformdirs

        return Path(platformdirs.user_pictures_dir()) / APP_NAME

    @staticmethod
    async def _deliver(
        image: GeneratedImage,
        record: StoredImage,
        context: SaveContext,
        sinks: list[tuple[str, ImageSink]],
        notes: list[str],
    ) -> DeliveredImage:
        item = DeliveredImage(stored=record)
        for sink_name, sink in sinks:
            try:
                item.saved.append(await sink.save(image, context))
            except Exception as exc:  # a sink failure must never lose the paid-for image: it is in the store
                logger.warning("Sink %s failed for image %s: %s", sink_name, record.id, exc)
                notes.append(
                    f"sink {sink_name} could not save image {context.index + 1}: {exc}. "
                    f"The image is kept at {record.uri}"
                )
        return item

    @staticmethod
    async def _call(
        provider: ImageProvider, operation: Operation, request: ImageRequest, progress: Progress
    ) -> ImageResult:
        if isinstance(request, GenerateRequest) and operation is Operation.GENERATE:
            return await provider.generate(request, progress)
        if isinstance(request, EditRequest):
            return await provider.edit(request, progress)
        if isinstance(request, VariationRequest):
            return await provider.variation(request, progress)
        raise AssertionError(f"unexpected request {type(request).__name__}")

    def _sinks(self, names: Sequence[str]) -> list[tuple[str, ImageSink]]:
        """The named sinks, or an error before any money is spent when one is missing."""
        chosen = []
        for name in dict.fromkeys(names):
            sink = self.registry.sinks.get(name)
            if sink is None:
                raise InvalidRequestError(
                    f"output sink {brief(name)} is not available; available sinks: {', '.join(self.registry.sinks)}"
                )
            chosen.append((name, sink))
        return chosen

    async def aclose(self) -> None:
        if not await anyio.to_thread.run_sync(self.store.wait_synced):
            logger.warning("Some images were not yet synced to disk at shutdown (they are written, in the page cache)")
        for item in [*self.registry.providers.values(), *self.registry.sinks.values()]:
            try:
                await item.aclose()
            except Exception as exc:  # closing must not hide the real shutdown reason
                logger.debug("Error while closing %s: %s", item.name, exc)


def _wire_name(option: str) -> str:
    """An option's name as upstreams read it: case and brackets aside (`Prompt`, `image[]` are `prompt`, `image`)."""
    return re.sub(r"[^a-z0-9_]", "", option.lower())


def _mismatches(provider: str, request: ImageRequest, result: ImageResult) -> list[str]:
    """Notes when the upstream sent another number of images, or another size, than was asked for."""
    notes = []
    if len(result.images) != request.n:
        got, asked = len(result.images), request.n
        notes.append(
            f"{provider} returned {got} image{'s' if got != 1 else ''} although {asked} "
            f"{'were' if asked != 1 else 'was'} asked for"
        )
    wanted = request.dimensions()
    got = sorted({f"{image.width}x{image.height}" for image in result.images} - {request.size})
    if wanted is not None and got:
        notes.append(f"{provider} returned {', '.join(got)} although {request.size} was asked for")
    return notes


def plugin_selection(settings: Settings) -> PluginSelection:
    """The entry-point plugins to load, as GPT_IMAGE_MCP_PLUGINS / _DISABLE_PLUGINS / _STRICT_PLUGINS say."""
    return PluginSelection(
        allow=frozenset(settings.plugins) if settings.plugins is not None else None,
        block=frozenset(settings.disable_plugins),
        strict=settings.strict_plugins,
    )


def build_model_table(registry: Registry, settings: Settings, *, user_file: bool = True) -> ModelTable:
    """The capability table: core's entries, each provider's layer, then MODEL_CAPABILITIES_FILE (`user_file`).

    A provider whose layer cannot be read or built is dropped from the registry with its plugin (which then shows
    as failed); with GPT_IMAGE_MCP_STRICT_PLUGINS, or for the built-in offline provider, that is an error instead.
    """
    table = ModelTable.default()
    by_plugin: dict[str, list[tuple[str, ImageProvider]]] = {}
    for name, provider in registry.providers.items():
        by_plugin.setdefault(registry.owners.get(("provider", name), name), []).append((name, provider))
    for owner, providers in by_plugin.items():
        # A plugin's layers count together: one that fails drops the plugin, and none of its layers stays.
        candidate = table
        try:
            for name, provider in providers:
                layer = provider.model_table_layer()
                if layer:
                    candidate = candidate.with_layer(layer, source=f"provider {name}")
        except Exception as exc:
            reason = exc.message if isinstance(exc, ImageMCPError) else f"{type(exc).__name__}: {exc}"
            if settings.strict_plugins or name == OFFLINE:
                raise ConfigurationError(f"the capability table of provider {name} is unusable: {reason}") from exc
            logger.warning(
                "Plugin %r is skipped: the capability table of provider %s is unusable: %s", owner, name, reason
            )
            registry.drop(owner, f"capability table of provider {name}: {reason}")
            continue
        table = candidate
    if user_file and settings.model_capabilities_file:
        table = table.with_file(settings.model_capabilities_file)
    return table


def _has_credentials(provider: ImageProvider) -> bool:
    try:
        return provider.has_credentials()
    except Exception as exc:  # a plugin's bug must not stop the server: it just is not picked automatically
        logger.warning(
            "Provider %s could not tell whether it has credentials: %s: %s", provider.name, type(exc).__name__, exc
        )
        return False


def default_store_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME)) / "images"
