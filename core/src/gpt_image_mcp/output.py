"""Building MCP tool results: a text summary, inline images, and structured content."""

from __future__ import annotations

import base64
import json
from typing import Literal

from mcp_types import CallToolResult, ContentBlock, ImageContent, TextContent
from pydantic import BaseModel, Field

from gpt_image_mcp.errors import ImageMCPError
from gpt_image_mcp.service import CallOutcome
from gpt_image_mcp.types import Usage

ResponseFormat = Literal["markdown", "json"]


class ImageInfo(BaseModel):
    index: int = Field(description="Position in the result, from 1")
    id: str = Field(description="Identifier of the image in this server")
    mime_type: str
    width: int
    height: int
    bytes: int = Field(description="Size of the full image in bytes")
    sha256: str
    inline: bool = Field(description="Whether the full image is included in this result as image content")
    path: str | None = Field(None, description="Absolute file path where the image was saved")
    uri: str | None = Field(None, description="URI of the saved image (file://, image://, s3://)")
    url: str | None = Field(None, description="HTTP(S) URL of the saved image")
    revised_prompt: str | None = None


class ErrorInfo(BaseModel):
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

    ok: bool
    provider: str | None = None
    model: str | None = None
    images: list[ImageInfo] = Field(default_factory=list)
    usage: Usage | None = None
    request_id: str | None = None
    prompt: str | None = Field(None, description="The prompt actually sent")
    notes: list[str] = Field(default_factory=list)
    error: ErrorInfo | None = None


def success_result(outcome: CallOutcome, response_format: ResponseFormat = "markdown") -> CallToolResult:
    result = outcome.result
    infos: list[ImageInfo] = []
    images: list[ContentBlock] = []
    for index, (image, delivered) in enumerate(zip(result.images, outcome.delivered, strict=True), start=1):
        located = next((saved for saved in delivered.saved if not saved.inline), None)
        infos.append(
            ImageInfo(
                index=index,
                id=delivered.image_id,
                mime_type=image.mime_type,
                width=image.width,
                height=image.height,
                bytes=len(image.data),
                sha256=image.sha256,
                inline=delivered.inline,
                path=located.path if located else None,
                uri=located.uri if located else None,
                url=located.url if located else None,
                revised_prompt=image.revised_prompt,
            )
        )
        if delivered.inline:
            images.append(
                ImageContent(type="image", data=base64.b64encode(image.data).decode("ascii"), mime_type=image.mime_type)
            )
    output = ImageToolOutput(
        ok=True,
        provider=result.provider,
        model=result.model,
        images=infos,
        usage=result.usage,
        request_id=result.request_id,
        prompt=outcome.prompt,
        notes=outcome.notes,
    )
    structured = output.model_dump(mode="json")
    text = json.dumps(structured, indent=2) if response_format == "json" else _markdown(output)
    return CallToolResult(content=[TextContent(type="text", text=text), *images], structured_content=structured)


def error_result(error: ImageMCPError) -> CallToolResult:
    info = ErrorInfo(**error.to_dict())
    output = ImageToolOutput(ok=False, provider=error.provider, model=error.model, error=info)
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
        where = info.path or info.url or info.uri
        place = f" saved at {where}" if where else ""
        shown = " (shown inline)" if info.inline else ""
        kind = info.mime_type.split("/")[-1].upper()
        lines.append(f"{info.index}. {info.width}x{info.height} {kind}, {_human_bytes(info.bytes)}{shown}{place}")
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
