"""Building MCP tool results that never break a client.

The output policy: a result never carries more than a byte budget of inline image data. Images that fit
go inline at full quality; otherwise each image gets a downscaled preview plus a link to the full image
(`image://` resource, file path, URL). Every result has a text summary saying where each full image is,
and structured content with the details.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Literal

import anyio
from mcp_types import CallToolResult, ContentBlock, ImageContent, ResourceLink, TextContent
from pydantic import BaseModel, ConfigDict, Field

from gpt_image_mcp.errors import ImageMCPError
from gpt_image_mcp.imaging import Preview, make_preview
from gpt_image_mcp.service import CallOutcome, DeliveredImage
from gpt_image_mcp.types import GeneratedImage, Usage

ResponseFormat = Literal["markdown", "json"]
#: The result models are only needed once a tool answers: their validators are built then, not at start-up.
DEFERRED = ConfigDict(defer_build=True)


class PreviewInfo(BaseModel):
    model_config = DEFERRED

    mime_type: str
    width: int
    height: int
    bytes: int


class SavedInfo(BaseModel):
    model_config = DEFERRED

    sink: str
    path: str | None = None
    uri: str | None = None
    url: str | None = None


class ImageInfo(BaseModel):
    model_config = DEFERRED

    index: int = Field(description="Position in the result, from 1")
    id: str = Field(description="Identifier of the image in this server")
    uri: str = Field(description="image:// resource with the full image; also accepted as edit input")
    mime_type: str
    width: int
    height: int
    bytes: int = Field(description="Size of the full image in bytes")
    sha256: str
    inline: bool = Field(description="Whether the full image is included in this result as image content")
    preview: PreviewInfo | None = Field(None, description="The smaller inline copy, when the full image did not fit")
    path: str | None = Field(None, description="Absolute file path where a sink saved the image")
    file_uri: str | None = Field(None, description="file:// or s3:// URI where a sink saved the image")
    url: str | None = Field(None, description="HTTP(S) URL of the saved image")
    saved: list[SavedInfo] = Field(default_factory=list, description="Every place a sink put the image")
    revised_prompt: str | None = None


class ErrorInfo(BaseModel):
    model_config = DEFERRED

    code: str = Field(description="Error class: invalid_request, refused, authentication, rate_limited, ...")
    message: str
    retryable: bool
    provider: str | None = None
    model: str | None = None
    http_status: int | None = None
    request_id: str | None = None
    retry_after: float | None = None


class ImageToolOutput(BaseModel):
    """Structured result of image_generate, image_edit and image_variation."""

    model_config = DEFERRED

    ok: bool
    provider: str | None = None
    model: str | None = None
    images: list[ImageInfo] = Field(default_factory=list)
    usage: Usage | None = None
    request_id: str | None = None
    prompt: str | None = Field(None, description="The prompt actually sent")
    original_prompt: str | None = Field(None, description="The caller's prompt, when an enhanced one was sent")
    notes: list[str] = Field(default_factory=list)
    error: ErrorInfo | None = None


@dataclass(frozen=True)
class ResultShape:
    """How the caller wants the result: text format and inline byte budget (base64 bytes)."""

    response_format: ResponseFormat = "markdown"
    max_inline_bytes: int = 700 * 1024


def base64_size(raw_bytes: int) -> int:
    return 4 * ((raw_bytes + 2) // 3)


async def success_result(outcome: CallOutcome, shape: ResultShape) -> CallToolResult:
    result = outcome.result
    pairs = list(zip(result.images, outcome.delivered, strict=True))
    wants_inline = any(delivered.inline for _, delivered in pairs)
    full_fits = sum(base64_size(len(image.data)) for image, _ in pairs) <= shape.max_inline_bytes
    per_image_budget = shape.max_inline_bytes // max(1, len(pairs)) * 3 // 4

    infos: list[ImageInfo] = []
    blocks: list[ContentBlock] = []
    for index, (image, delivered) in enumerate(pairs, start=1):
        preview: Preview | None = None
        if wants_inline and full_fits:
            blocks.append(_image_block(image.data, image.mime_type))
        else:
            if wants_inline and per_image_budget > 0:
                preview = await anyio.to_thread.run_sync(
                    lambda image=image: make_preview(image.data, has_alpha=image.has_alpha, max_bytes=per_image_budget)
                )
            if preview is not None:
                blocks.append(_image_block(preview.data, preview.mime_type))
            blocks.append(_link(delivered, image, index))
        infos.append(_info(index, image, delivered, full_inline=wants_inline and full_fits, preview=preview))
    output = ImageToolOutput(
        ok=True,
        provider=result.provider,
        model=result.model,
        images=infos,
        usage=result.usage,
        request_id=result.request_id,
        prompt=outcome.prompt,
        original_prompt=outcome.original_prompt,
        notes=outcome.notes,
    )
    structured = output.model_dump(mode="json")
    text = json.dumps(structured, indent=2) if shape.response_format == "json" else _markdown(output)
    return CallToolResult(content=[TextContent(type="text", text=text), *blocks], structured_content=structured)


def _image_block(data: bytes, mime_type: str) -> ImageContent:
    return ImageContent(type="image", data=base64.b64encode(data).decode("ascii"), mime_type=mime_type)


def _link(delivered: DeliveredImage, image: GeneratedImage, index: int) -> ResourceLink:
    return ResourceLink(
        type="resource_link",
        uri=delivered.stored.uri,
        name=f"image-{index}",
        title=f"Full image {index} ({image.width}x{image.height})",
        mime_type=image.mime_type,
        size=len(image.data),
    )


def _info(
    index: int, image: GeneratedImage, delivered: DeliveredImage, *, full_inline: bool, preview: Preview | None
) -> ImageInfo:
    saved = [
        SavedInfo(sink=place.sink, path=place.path, uri=place.uri, url=place.url)
        for place in delivered.saved
        if not place.inline
    ]
    return ImageInfo(
        index=index,
        id=delivered.image_id,
        uri=delivered.stored.uri,
        mime_type=image.mime_type,
        width=image.width,
        height=image.height,
        bytes=len(image.data),
        sha256=delivered.stored.sha256,  # hashed once, when stored (off the event loop)
        inline=full_inline,
        preview=PreviewInfo(
            mime_type=preview.mime_type, width=preview.width, height=preview.height, bytes=len(preview.data)
        )
        if preview
        else None,
        path=next((place.path for place in saved if place.path), None),
        file_uri=next((place.uri for place in saved if place.uri), None),
        url=next((place.url for place in saved if place.url), None),
        saved=saved,
        revised_prompt=image.revised_prompt,
    )


def error_result(error: ImageMCPError) -> CallToolResult:
    fields = error.to_dict()
    info = ErrorInfo(**fields)
    output = ImageToolOutput(ok=False, provider=fields.get("provider"), model=fields.get("model"), error=info)
    hint = " (retryable)" if error.retryable else ""
    return CallToolResult(
        content=[TextContent(type="text", text=f"Error [{error.code}]{hint}: {error.message}")],
        structured_content=output.model_dump(mode="json"),
        is_error=True,
    )


def _markdown(output: ImageToolOutput) -> str:
    count = len(output.images)
    lines = [f"Generated {count} image{'s' if count != 1 else ''} with {output.provider} / {output.model}."]
    for info in output.images:
        kind = info.mime_type.split("/")[-1].upper()
        line = f"{info.index}. {info.width}x{info.height} {kind}, {_human_bytes(info.bytes)}"
        if info.inline:
            line += ", shown inline"
        elif info.preview:
            line += f", preview shown inline ({info.preview.width}x{info.preview.height})"
        places = [info.uri] + [place.path or place.url or place.uri or "" for place in info.saved]
        line += " — full image: " + ", ".join(place for place in places if place)
        lines.append(line)
    if output.usage:
        used = ", ".join(f"{key} {value}" for key, value in output.usage.model_dump(exclude_none=True).items())
        if used:
            lines.append(f"Usage: {used}")
    if output.request_id:
        lines.append(f"Request id: {output.request_id}")
    lines.extend(f"Note: {note}" for note in output.notes)
    return "\n".join(lines)


def _human_bytes(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KiB"
    return f"{size / (1024 * 1024):.2f} MiB"
