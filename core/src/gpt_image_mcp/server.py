"""The MCP server: five thin tools over `ImageService`."""

from __future__ import annotations

import gc
import logging
import os
import time
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import unquote, urlparse

import anyio
from mcp.server.elicitation import AcceptedElicitation, CancelledElicitation, ElicitationResult
from mcp.server.lowlevel.helper_types import ReadResourceContents
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceNotFoundError, ToolError
from mcp.server.mcpserver.resolve import Resolve
from mcp_types import CallToolResult, InputRequiredResult, ListRootsResult, ToolAnnotations
from mcp_types import Resource as MCPResource
from mcp_types import ResourceTemplate as MCPResourceTemplate
from pydantic import AnyUrl, BaseModel, ConfigDict, Field

from gpt_image_mcp import __version__
from gpt_image_mcp.capabilities import SizeRules
from gpt_image_mcp.errors import CancelledByUserError, ImageMCPError
from gpt_image_mcp.inputs import InputResolver
from gpt_image_mcp.interaction import (
    ImageSettingsChoice,
    ask_image_settings,
    clean_enhanced_prompt,
    enhance_prompt_resolver,
    roots_for_edit,
    roots_for_generate,
    roots_for_variation,
    sampled_text,
)
from gpt_image_mcp.lazy_server import LazyMCPServer
from gpt_image_mcp.output import ImageToolOutput, ResponseFormat, ResultShape, error_result, success_result
from gpt_image_mcp.progress import Progress
from gpt_image_mcp.service import CallOutcome, Delivery, ImageService
from gpt_image_mcp.store import parse_image_uri
from gpt_image_mcp.types import GeneratedImage, Operation

logger = logging.getLogger(__name__)

INSTRUCTIONS = (
    "Generate and edit images. Use image_generate for new images, image_edit to change existing ones: pass "
    "them as the image:// URI a previous result gave, a file path in the workspace, or base64 (a mask's "
    "transparent area marks what may change). provider_list shows the enabled providers and the sizes, "
    "qualities and formats each model accepts. Large images come back as a preview plus a link to the full image."
)
WORKSPACE_SUBFOLDER = "generated-images"

# -- argument types (descriptions are what the calling model reads) ------------------------------------
Prompt = Annotated[str, Field(description="What the image should show. Be specific about subject, style, light.")]
Model = Annotated[str | None, Field(description="Model name, e.g. gpt-image-2. Omit for the server default.")]
Count = Annotated[int, Field(description="How many images to make (1-10, model-dependent).")]
Size = Annotated[
    str | None,
    Field(
        description="WIDTHxHEIGHT such as 1024x1024, 1536x1024 (landscape), 1024x1536 (portrait), or 'auto'. "
        "gpt-image-2 accepts any size with both edges multiples of 16, long edge <= 3840, ratio <= 3:1."
    ),
]
Quality = Annotated[str | None, Field(description="auto, low, medium or high (some models add xhigh, max).")]
Background = Annotated[
    str | None, Field(description="auto, opaque or transparent (transparent needs png or webp; model-dependent).")
]
OutputFormat = Annotated[str | None, Field(description="png, jpeg or webp.")]
Compression = Annotated[int | None, Field(description="0-100 compression level for jpeg or webp output.")]
Moderation = Annotated[str | None, Field(description="Upstream moderation strictness: auto or low.")]
SaveToWorkspace = Annotated[bool, Field(description="Also save the images as files in the workspace folder.")]
Format = Annotated[ResponseFormat, Field(description="Shape of the text summary: markdown or json.")]
ProviderName = Annotated[str | None, Field(description="Provider to use (see provider_list). Omit for the default.")]
Seed = Annotated[int | None, Field(description="Seed for reproducible results, where the provider supports it.")]
ImageArg = Annotated[
    str | None,
    Field(
        description="Input image: an image:// URI from an earlier result, a file path in the workspace, "
        "or base64 / a data: URL (PNG, JPEG or WebP)."
    ),
]
Sinks = Annotated[
    list[str] | None,
    Field(description="Where to deliver the images: inline, workspace, s3... Omit for the server's defaults."),
]
PartialImages = Annotated[
    int | None,
    Field(description="Stream 1-3 partial images while generating (announced as progress with image:// URIs)."),
]
EnhancePrompt = Annotated[
    bool, Field(description="Let the client's own model improve the prompt first (needs client sampling).")
]
SkipElicitation = Annotated[
    bool, Field(description="Never ask the user for size/quality; use defaults for what is left out.")
]
ProviderOptions = Annotated[
    dict[str, Any] | None,
    Field(
        description='Provider-specific options passed through, e.g. {"steps": 4, "negative_prompt": "blur"} '
        "for Together."
    ),
]
FileName = Annotated[str | None, Field(description="File name for saved images (sanitised; never overwrites).")]
SubFolder = Annotated[str | None, Field(description="Subfolder of the workspace for saved images (sanitised).")]
InlineBudget = Annotated[
    int | None,
    Field(
        description="Maximum bytes of inline image data in the result (base64). Bigger images come back "
        "as a preview plus a link. Omit for the server default."
    ),
]

#: The tools' result models: validators built when a tool first answers, not at start-up.
RESULT_MODEL = ConfigDict(defer_build=True)
IMAGE_TOOL = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True)


class ModelInfo(BaseModel):
    model_config = RESULT_MODEL

    name: str
    title: str
    operations: list[str]
    sizes: list[str] = Field(description="Preset sizes (rule-based models accept more, see size_rules)")
    size_rules: str | None = None
    qualities: list[str]
    backgrounds: list[str]
    output_formats: list[str]
    max_n: int
    max_edit_images: int
    shutdown_date: str | None = None


class ProviderInfo(BaseModel):
    model_config = RESULT_MODEL

    name: str
    description: str
    default: bool
    configured: bool
    problems: list[str]
    operations: list[str]
    default_model: str
    models: list[ModelInfo]


class ProviderListOutput(BaseModel):
    model_config = RESULT_MODEL

    default_provider: str
    providers: list[ProviderInfo]


class CheckInfo(BaseModel):
    model_config = RESULT_MODEL

    name: str
    ok: bool
    detail: str


class ProviderValidateOutput(BaseModel):
    model_config = RESULT_MODEL

    provider: str
    ok: bool
    checks: list[CheckInfo]


class McpProgress(Progress):
    """Sends each stage to the client as a progress notification (no-op without a progress token).

    While a call waits, `heartbeat()` repeats the current stage with the elapsed time every few seconds, so
    clients that reset their time-out on progress keep waiting for slow high-quality images. Partial images
    are kept in the store like final ones and announced with their image:// URI.
    """

    def __init__(self, ctx: Context, service: ImageService) -> None:
        self.ctx = ctx
        self.store = service.store
        self.interval = service.settings.progress_interval_seconds
        self.step = 0
        self.current = "starting"
        self.started = time.monotonic()

    async def stage(self, message: str) -> None:
        self.current = message
        await self._send(message)

    async def _send(self, message: str) -> None:
        self.step += 1
        elapsed = time.monotonic() - self.started
        try:
            await self.ctx.report_progress(self.step, None, f"{message} ({elapsed:.0f}s)")
        except Exception as exc:  # a client that went away must not fail the paid-for call
            logger.debug("Could not send progress: %s", exc)

    async def partial_image(self, image: GeneratedImage, index: int) -> None:
        record = await anyio.to_thread.run_sync(
            lambda: self.store.put(image, provider="partial", model="partial", partial=True)
        )
        await self.stage(f"partial image {index + 1}: {record.uri} ({image.width}x{image.height})")

    async def run(self, call: Callable[[], Awaitable[CallOutcome]]) -> CallOutcome:
        """Await `call` while repeating the current stage every `interval` seconds."""

        async def beat() -> None:
            while True:
                await anyio.sleep(self.interval)
                await self._send(self.current)

        failure: Exception | None = None
        async with anyio.create_task_group() as group:
            group.start_soon(beat)
            try:
                outcome = await call()
            except Exception as exc:  # re-raised below, outside the task group, unwrapped
                failure = exc
            group.cancel_scope.cancel()
        if failure is not None:
            raise failure
        return outcome


_first_call_done = False
_calls_in_flight = 0


def freeze_after_first_call() -> None:
    """After the first image call, what it loaded (the provider SDK, Pillow, the tools) joins start-up's
    objects outside the collector: a full collection then walks only what calls create.

    Only at a moment when no other call is under way: what a running call holds must stay collectable.
    """
    global _first_call_done
    if not _first_call_done and _calls_in_flight == 0:
        _first_call_done = True
        gc.collect()  # garbage already made is freed, not frozen
        gc.freeze()


async def _image_call(run: Callable[[], Awaitable[CallOutcome]], shape: ResultShape, tool: str) -> CallToolResult:
    from gpt_image_mcp.metrics import track_tool_call
    from gpt_image_mcp.secrets_mask import mask_secrets

    global _calls_in_flight
    with track_tool_call(tool) as call:
        _calls_in_flight += 1
        try:
            outcome = await run()
            result = await success_result(outcome, shape)
        except ImageMCPError as exc:
            exc.message = mask_secrets(exc.message)
            logger.info("Image call failed: %s: %s", exc.code, exc.message)
            call.failed(exc)
            return error_result(exc)
        finally:
            _calls_in_flight -= 1
        call.succeeded(outcome.result)
        freeze_after_first_call()
        return result


class ImageMCPServer(LazyMCPServer):
    """MCPServer whose `image://` resources come from the image store, each with its real mime type.

    Its tools are built on the first tool request, not at start-up (`LazyMCPServer`).
    """

    def __init__(self, service: ImageService, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.service = service
        self.store = service.store

    async def list_resources(self) -> list[MCPResource]:
        listed = await super().list_resources()
        return listed + [
            MCPResource(
                uri=record.uri,
                name=record.filename,
                title=f"{'Partial image' if record.partial else 'Image'} {record.width}x{record.height} "
                f"({record.provider} / {record.model})",
                mime_type=record.mime_type,
                size=record.bytes,
            )
            for record in self.store.recent()
        ]

    async def list_resource_templates(self) -> list[MCPResourceTemplate]:
        template = MCPResourceTemplate(
            uri_template="image://{image_id}",
            name="image",
            title="Image made by this server",
            description="Full-size image by id, as listed in tool results (PNG, JPEG or WebP).",
        )
        return [*await super().list_resource_templates(), template]

    async def read_resource(
        self, uri: AnyUrl | str, context: Context[Any, Any] | None = None
    ) -> Iterable[ReadResourceContents] | InputRequiredResult:
        text = str(uri)
        if not text.startswith("image://"):
            return await super().read_resource(uri, context)
        image_id = parse_image_uri(text)
        found = await anyio.to_thread.run_sync(self.store.read, image_id) if image_id else None
        if found is None:
            raise ResourceNotFoundError(f"Unknown image {text}: it was never made here or has been evicted")
        record, data = found
        return [ReadResourceContents(content=data, mime_type=record.mime_type)]


def apply_choice(
    choice: ElicitationResult[ImageSettingsChoice] | None, size: str | None, quality: str | None
) -> tuple[str | None, str | None]:
    """Size and quality after the user's answer: accepted values win, decline keeps defaults."""
    if isinstance(choice, CancelledElicitation):
        raise CancelledByUserError("the user cancelled the image settings question; nothing was generated")
    if isinstance(choice, AcceptedElicitation) and isinstance(choice.data, ImageSettingsChoice):
        answer = choice.data.model_dump()
        return answer.get("size", size), answer.get("quality", quality)
    return size, quality


def prompt_to_use(
    service: ImageService, prompt: str, enhanced: object, enhance: bool, provider: str | None, model: str | None
) -> tuple[str, list[str]]:
    """The client-enhanced prompt when there is a usable one, else the original; with a note either way."""
    if not enhance:
        return prompt, []
    try:
        _, caps, _ = service.resolve_model(service.provider(provider), model)
    except ImageMCPError:
        caps = None
    better = clean_enhanced_prompt(sampled_text(enhanced), caps.max_prompt_chars if caps else 32000)
    if better is None:
        return prompt, [
            "prompt enhancement was not available (client sampling unsupported, off or failed); "
            "the original prompt was used"
        ]
    return better, ["the prompt was enhanced by the client's model; original_prompt holds what was asked"]


def build_server(service: ImageService) -> MCPServer:
    """Create the MCP server with its five tools bound to `service`."""
    mcp = ImageMCPServer(
        service,
        name="gpt-image-mcp",
        title="GPT Image MCP",
        version=__version__,
        instructions=INSTRUCTIONS,
        log_level=service.settings.log_level.upper(),  # type: ignore[arg-type]
    )

    settings = service.settings

    # Over HTTP the client is remote: its roots name folders on *this* machine, so they are trusted only
    # inside WORKSPACE_ALLOWED_ROOTS. Over stdio the client runs here, as the same user, and any root goes.
    trust_any_root = settings.transport != "http"
    if not trust_any_root and not settings.workspace_allowed_roots:
        logger.info("Serving HTTP without WORKSPACE_ALLOWED_ROOTS: client roots are ignored; files go to OUTPUT_DIR")

    def client_roots(roots: ListRootsResult | None) -> list[Path]:
        """The client's file:// roots that WORKSPACE_ALLOWED_ROOTS permits."""
        allowed = [Path(os.path.realpath(Path(root).expanduser())) for root in settings.workspace_allowed_roots]
        if not allowed and not trust_any_root:
            return []
        paths = []
        for root in roots.roots if roots else []:
            parsed = urlparse(str(root.uri))
            if parsed.scheme != "file":
                continue
            path = Path(os.path.realpath(unquote(parsed.path)))
            if path.is_dir() and (not allowed or any(path.is_relative_to(a) for a in allowed)):
                paths.append(path)
        return paths

    def delivery(
        roots: ListRootsResult | None,
        save_to_workspace: bool,
        sinks: list[str] | None,
        filename: str | None,
        subfolder: str | None,
    ) -> Delivery:
        chosen = list(sinks) if sinks is not None else list(settings.default_sinks)
        if save_to_workspace and "workspace" not in chosen:
            chosen.append("workspace")
        root = next(iter(client_roots(roots)), None)
        return Delivery(
            sinks=chosen,
            workspace=root / WORKSPACE_SUBFOLDER if root else None,
            filename=filename,
            subfolder=subfolder,
        )

    def input_resolver(roots: ListRootsResult | None) -> InputResolver:
        readable = [*client_roots(roots), service.workspace_dir()]
        readable += [Path(root) for root in settings.workspace_allowed_roots]
        return InputResolver(service.store, readable)

    def shape(response_format: ResponseFormat, max_inline_bytes: int | None) -> ResultShape:
        budget = settings.max_inline_bytes if max_inline_bytes is None else max(0, min(max_inline_bytes, 16 * 2**20))
        return ResultShape(response_format=response_format, max_inline_bytes=budget)

    @mcp.tool(
        name="image_generate",
        title="Generate images",
        description="Create new images from a text prompt. Returns the images (or previews of large ones) with a "
        "summary of where each full image is (image:// URI, file path, URL).",
        annotations=IMAGE_TOOL,
    )
    async def image_generate(
        ctx: Context,
        prompt: Prompt,
        roots: Annotated[ListRootsResult | None, Resolve(roots_for_generate)],
        choice: Annotated[ElicitationResult[ImageSettingsChoice], Resolve(ask_image_settings)],
        enhanced: Annotated[Any, Resolve(enhance_prompt_resolver)],
        model: Model = None,
        n: Count = 1,
        size: Size = None,
        quality: Quality = None,
        background: Background = None,
        output_format: OutputFormat = None,
        output_compression: Compression = None,
        moderation: Moderation = None,
        seed: Seed = None,
        partial_images: PartialImages = None,
        provider: ProviderName = None,
        options: ProviderOptions = None,
        enhance_prompt: EnhancePrompt = False,
        skip_elicitation: SkipElicitation = False,
        save_to_workspace: SaveToWorkspace = False,
        sinks: Sinks = None,
        filename: FileName = None,
        subfolder: SubFolder = None,
        max_inline_bytes: InlineBudget = None,
        response_format: Format = "markdown",
    ) -> Annotated[CallToolResult, ImageToolOutput]:
        async def run() -> CallOutcome:
            chosen_size, chosen_quality = apply_choice(choice, size, quality)
            used_prompt, notes = prompt_to_use(service, prompt, enhanced, enhance_prompt, provider, model)
            progress = McpProgress(ctx, service)
            outcome = await progress.run(
                lambda: service.generate(
                    provider=provider,
                    delivery=delivery(roots, save_to_workspace, sinks, filename, subfolder),
                    progress=progress,
                    prompt=used_prompt,
                    model=model,
                    n=n,
                    size=chosen_size,
                    quality=chosen_quality,
                    background=background,
                    output_format=output_format,
                    output_compression=output_compression,
                    moderation=moderation,
                    seed=seed,
                    partial_images=partial_images,
                    extra=options,
                )
            )
            return outcome.with_notes(notes, original_prompt=prompt if used_prompt != prompt else None)

        return await _image_call(run, shape(response_format, max_inline_bytes), "image_generate")

    @mcp.tool(
        name="image_edit",
        title="Edit images",
        description="Change existing images following a prompt: pass one image (image) or up to 16 (images) as "
        "image:// URIs from earlier results, workspace file paths or base64; optionally a PNG mask whose "
        "transparent pixels mark the area to change.",
        annotations=IMAGE_TOOL,
    )
    async def image_edit(
        ctx: Context,
        prompt: Prompt,
        roots: Annotated[ListRootsResult | None, Resolve(roots_for_edit)],
        choice: Annotated[ElicitationResult[ImageSettingsChoice], Resolve(ask_image_settings)],
        enhanced: Annotated[Any, Resolve(enhance_prompt_resolver)],
        image: ImageArg = None,
        images: Annotated[
            list[str] | None, Field(description="Up to 16 input images, in the same forms as image.")
        ] = None,
        mask: Annotated[
            str | None,
            Field(
                description="PNG mask with alpha, same size as the first image; transparent = change. "
                "Same forms as image."
            ),
        ] = None,
        model: Model = None,
        n: Count = 1,
        size: Size = None,
        quality: Quality = None,
        background: Background = None,
        output_format: OutputFormat = None,
        output_compression: Compression = None,
        input_fidelity: Annotated[
            str | None, Field(description="low or high: how closely to keep the input's details (model-dependent).")
        ] = None,
        partial_images: PartialImages = None,
        provider: ProviderName = None,
        options: ProviderOptions = None,
        enhance_prompt: EnhancePrompt = False,
        skip_elicitation: SkipElicitation = False,
        save_to_workspace: SaveToWorkspace = False,
        sinks: Sinks = None,
        filename: FileName = None,
        subfolder: SubFolder = None,
        max_inline_bytes: InlineBudget = None,
        response_format: Format = "markdown",
    ) -> Annotated[CallToolResult, ImageToolOutput]:
        async def run() -> CallOutcome:
            chosen_size, chosen_quality = apply_choice(choice, size, quality)
            used_prompt, notes = prompt_to_use(service, prompt, enhanced, enhance_prompt, provider, model)
            resolver = input_resolver(roots)
            labelled = ([("image", image)] if image else []) + [
                (f"images[{i}]", value) for i, value in enumerate(images or [])
            ]
            decoded = [
                await anyio.to_thread.run_sync(lambda v=v, k=k: resolver.resolve(v, label=k)) for k, v in labelled
            ]
            mask_image = await anyio.to_thread.run_sync(lambda: resolver.resolve(mask, label="mask")) if mask else None
            progress = McpProgress(ctx, service)
            outcome = await progress.run(
                lambda: service.edit(
                    images=decoded,
                    mask=mask_image,
                    provider=provider,
                    delivery=delivery(roots, save_to_workspace, sinks, filename, subfolder),
                    progress=progress,
                    prompt=used_prompt,
                    model=model,
                    n=n,
                    size=chosen_size,
                    quality=chosen_quality,
                    background=background,
                    output_format=output_format,
                    output_compression=output_compression,
                    input_fidelity=input_fidelity,
                    partial_images=partial_images,
                    extra=options,
                )
            )
            return outcome.with_notes(notes, original_prompt=prompt if used_prompt != prompt else None)

        return await _image_call(run, shape(response_format, max_inline_bytes), "image_edit")

    @mcp.tool(
        name="image_variation",
        title="Vary an image",
        description="Make variations of one image. Most current models no longer support variations upstream; "
        "the error then suggests image_edit with a prompt instead.",
        annotations=IMAGE_TOOL,
    )
    async def image_variation(
        ctx: Context,
        image: Annotated[str, Field(description="The image to vary: image:// URI, workspace file path or base64.")],
        roots: Annotated[ListRootsResult | None, Resolve(roots_for_variation)],
        model: Model = None,
        n: Count = 1,
        size: Size = None,
        output_format: OutputFormat = None,
        provider: ProviderName = None,
        save_to_workspace: SaveToWorkspace = False,
        sinks: Sinks = None,
        filename: FileName = None,
        subfolder: SubFolder = None,
        max_inline_bytes: InlineBudget = None,
        response_format: Format = "markdown",
    ) -> Annotated[CallToolResult, ImageToolOutput]:
        async def run() -> CallOutcome:
            resolver = input_resolver(roots)
            source = await anyio.to_thread.run_sync(lambda: resolver.resolve(image, label="image"))
            progress = McpProgress(ctx, service)
            return await progress.run(
                lambda: service.variation(
                    image=source,
                    provider=provider,
                    delivery=delivery(roots, save_to_workspace, sinks, filename, subfolder),
                    progress=progress,
                    model=model,
                    n=n,
                    size=size,
                    output_format=output_format,
                )
            )

        return await _image_call(run, shape(response_format, max_inline_bytes), "image_variation")

    @mcp.tool(
        name="provider_list",
        title="List providers and models",
        description="Show the enabled image providers, their models and what each model accepts.",
        annotations=ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False),
    )
    async def provider_list() -> ProviderListOutput:
        from gpt_image_mcp.metrics import track_tool_call

        with track_tool_call("provider_list") as call:
            output = ProviderListOutput(default_provider=service.default_provider, providers=_provider_infos(service))
            call.succeeded()
            return output

    @mcp.tool(
        name="provider_validate",
        title="Validate a provider",
        description="Check a provider's configuration and credentials with one cheap upstream call "
        "that generates nothing.",
        annotations=ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=True),
    )
    async def provider_validate(provider: ProviderName = None) -> ProviderValidateOutput:
        from gpt_image_mcp.metrics import track_tool_call
        from gpt_image_mcp.secrets_mask import mask_secrets

        with track_tool_call("provider_validate") as call:
            try:
                chosen = service.provider(provider)
                report = await chosen.validate()
            except ImageMCPError as exc:
                call.failed(exc, provider=provider)
                raise ToolError(mask_secrets(exc.message)) from exc
            if report.ok:
                call.succeeded(provider=report.provider)
            else:
                call.failed("validation_failed", provider=report.provider)
            return ProviderValidateOutput(
                provider=report.provider,
                ok=report.ok,
                checks=[CheckInfo(name=c.name, ok=c.ok, detail=mask_secrets(c.detail)) for c in report.checks],
            )

    return mcp


def _provider_infos(service: ImageService) -> list[ProviderInfo]:
    from gpt_image_mcp.secrets_mask import mask_secrets

    infos = []
    for name, provider in service.providers.items():
        models = [
            ModelInfo(
                name=caps.name,
                title=caps.title,
                operations=sorted(op.value for op in caps.operations if op in provider.operations),
                sizes=[*caps.sizes.presets, *(["auto"] if caps.sizes.allow_auto else [])],
                size_rules=_describe_rules(caps.sizes) if caps.sizes.has_rules else None,
                qualities=caps.qualities,
                backgrounds=caps.backgrounds,
                output_formats=caps.output_formats,
                max_n=caps.max_n,
                max_edit_images=caps.max_edit_images if Operation.EDIT in caps.operations else 0,
                shutdown_date=caps.shutdown_date.isoformat() if caps.shutdown_date else None,
            )
            for caps in service.models_for(provider)
        ]
        infos.append(
            ProviderInfo(
                name=name,
                description=provider.description,
                default=name == service.default_provider,
                configured=provider.is_configured(),
                problems=[mask_secrets(problem) for problem in provider.configuration_problems()],
                operations=sorted(op.value for op in provider.operations),
                default_model=service.default_model_for(provider),
                models=models,
            )
        )
    return infos


def _describe_rules(rules: SizeRules) -> str:
    parts = []
    if rules.multiple_of:
        parts.append(f"edges multiples of {rules.multiple_of}")
    if rules.max_edge:
        parts.append(f"max edge {rules.max_edge}")
    if rules.max_ratio:
        parts.append(f"ratio <= {rules.max_ratio:g}:1")
    if rules.min_pixels or rules.max_pixels:
        parts.append(f"{rules.min_pixels or 0:,}-{rules.max_pixels or 0:,} pixels")
    return ", ".join(parts)
