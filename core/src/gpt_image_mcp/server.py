"""The MCP server: five thin tools over `ImageService`."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Annotated

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, ToolAnnotations
from pydantic import BaseModel, Field

from gpt_image_mcp import __version__
from gpt_image_mcp.capabilities import SizeRules
from gpt_image_mcp.errors import ImageMCPError
from gpt_image_mcp.inputs import decode_image_argument
from gpt_image_mcp.output import ImageToolOutput, ResponseFormat, error_result, success_result
from gpt_image_mcp.progress import Progress
from gpt_image_mcp.service import CallOutcome, ImageService
from gpt_image_mcp.types import GeneratedImage, Operation

logger = logging.getLogger(__name__)

INSTRUCTIONS = (
    "Generate and edit images. Use image_generate for new images, image_edit to change existing ones "
    "(pass them as base64 or data: URLs; a mask's transparent area marks what may change). "
    "provider_list shows the enabled providers and the sizes, qualities and formats each model accepts."
)

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
ImageArg = Annotated[str | None, Field(description="Input image as base64 or a data: URL (PNG, JPEG or WebP).")]

IMAGE_TOOL = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True)


class ModelInfo(BaseModel):
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
    name: str
    description: str
    default: bool
    configured: bool
    problems: list[str]
    operations: list[str]
    default_model: str
    models: list[ModelInfo]


class ProviderListOutput(BaseModel):
    default_provider: str
    providers: list[ProviderInfo]


class CheckInfo(BaseModel):
    name: str
    ok: bool
    detail: str


class ProviderValidateOutput(BaseModel):
    provider: str
    ok: bool
    checks: list[CheckInfo]


class McpProgress(Progress):
    """Sends each stage to the client as a progress notification (no-op without a progress token)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.step = 0

    async def stage(self, message: str) -> None:
        self.step += 1
        await self.ctx.report_progress(self.step, None, message)

    async def partial_image(self, image: GeneratedImage, index: int) -> None:
        await self.stage(f"partial image {index + 1} ({image.width}x{image.height})")


def _sinks(save_to_workspace: bool) -> tuple[str, ...]:
    return ("inline", "workspace") if save_to_workspace else ("inline",)


async def _image_call(run: Callable[[], Awaitable[CallOutcome]], response_format: ResponseFormat) -> CallToolResult:
    try:
        outcome = await run()
    except ImageMCPError as exc:
        logger.info("Image call failed: %s: %s", exc.code, exc.message)
        return error_result(exc)
    return success_result(outcome, response_format)


def build_server(service: ImageService) -> MCPServer:
    """Create the MCP server with its five tools bound to `service`."""
    mcp = MCPServer(
        name="gpt-image-mcp",
        title="GPT Image MCP",
        version=__version__,
        instructions=INSTRUCTIONS,
        log_level=service.settings.log_level.upper(),  # type: ignore[arg-type]
    )

    @mcp.tool(
        name="image_generate",
        title="Generate images",
        description="Create new images from a text prompt. Returns the images with a summary of where they are.",
        annotations=IMAGE_TOOL,
    )
    async def image_generate(
        ctx: Context,
        prompt: Prompt,
        model: Model = None,
        n: Count = 1,
        size: Size = None,
        quality: Quality = None,
        background: Background = None,
        output_format: OutputFormat = None,
        output_compression: Compression = None,
        moderation: Moderation = None,
        seed: Seed = None,
        provider: ProviderName = None,
        save_to_workspace: SaveToWorkspace = False,
        response_format: Format = "markdown",
    ) -> Annotated[CallToolResult, ImageToolOutput]:
        return await _image_call(
            lambda: service.generate(
                provider=provider,
                sinks=_sinks(save_to_workspace),
                progress=McpProgress(ctx),
                prompt=prompt,
                model=model,
                n=n,
                size=size,
                quality=quality,
                background=background,
                output_format=output_format,
                output_compression=output_compression,
                moderation=moderation,
                seed=seed,
            ),
            response_format,
        )

    @mcp.tool(
        name="image_edit",
        title="Edit images",
        description="Change existing images following a prompt: pass one image (image) or up to 16 (images), "
        "optionally a PNG mask whose transparent pixels mark the area to change.",
        annotations=IMAGE_TOOL,
    )
    async def image_edit(
        ctx: Context,
        prompt: Prompt,
        image: ImageArg = None,
        images: Annotated[list[str] | None, Field(description="Up to 16 input images (base64 or data: URLs).")] = None,
        mask: Annotated[
            str | None, Field(description="PNG mask with alpha, same size as the first image; transparent = change.")
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
        provider: ProviderName = None,
        save_to_workspace: SaveToWorkspace = False,
        response_format: Format = "markdown",
    ) -> Annotated[CallToolResult, ImageToolOutput]:
        async def run() -> CallOutcome:
            sources = ([image] if image else []) + list(images or [])
            decoded = [
                decode_image_argument(source, label="image" if image and i == 0 else f"images[{i - bool(image)}]")
                for i, source in enumerate(sources)
            ]
            mask_image = decode_image_argument(mask, label="mask") if mask else None
            return await service.edit(
                images=decoded,
                mask=mask_image,
                provider=provider,
                sinks=_sinks(save_to_workspace),
                progress=McpProgress(ctx),
                prompt=prompt,
                model=model,
                n=n,
                size=size,
                quality=quality,
                background=background,
                output_format=output_format,
                output_compression=output_compression,
                input_fidelity=input_fidelity,
            )

        return await _image_call(run, response_format)

    @mcp.tool(
        name="image_variation",
        title="Vary an image",
        description="Make variations of one image. Most current models no longer support variations upstream; "
        "the error then suggests image_edit with a prompt instead.",
        annotations=IMAGE_TOOL,
    )
    async def image_variation(
        ctx: Context,
        image: Annotated[str, Field(description="The image to vary, as base64 or a data: URL.")],
        model: Model = None,
        n: Count = 1,
        size: Size = None,
        output_format: OutputFormat = None,
        provider: ProviderName = None,
        save_to_workspace: SaveToWorkspace = False,
        response_format: Format = "markdown",
    ) -> Annotated[CallToolResult, ImageToolOutput]:
        async def run() -> CallOutcome:
            return await service.variation(
                image=decode_image_argument(image, label="image"),
                provider=provider,
                sinks=_sinks(save_to_workspace),
                progress=McpProgress(ctx),
                model=model,
                n=n,
                size=size,
                output_format=output_format,
            )

        return await _image_call(run, response_format)

    @mcp.tool(
        name="provider_list",
        title="List providers and models",
        description="Show the enabled image providers, their models and what each model accepts.",
        annotations=ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False),
    )
    async def provider_list() -> ProviderListOutput:
        return ProviderListOutput(default_provider=service.default_provider, providers=_provider_infos(service))

    @mcp.tool(
        name="provider_validate",
        title="Validate a provider",
        description="Check a provider's configuration and credentials with one cheap upstream call "
        "that generates nothing.",
        annotations=ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=True),
    )
    async def provider_validate(provider: ProviderName = None) -> ProviderValidateOutput:
        try:
            chosen = service.provider(provider)
            report = await chosen.validate()
        except ImageMCPError as exc:
            raise ToolError(exc.message) from exc
        return ProviderValidateOutput(
            provider=report.provider,
            ok=report.ok,
            checks=[CheckInfo(name=c.name, ok=c.ok, detail=c.detail) for c in report.checks],
        )

    return mcp


def _provider_infos(service: ImageService) -> list[ProviderInfo]:
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
                problems=provider.configuration_problems(),
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
