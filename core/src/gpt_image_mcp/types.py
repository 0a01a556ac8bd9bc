"""Request and result models shared by the server, the providers and the sinks.

None of them is needed to start serving, so each builds its validator on first use (`defer_build`): about
1 ms per model less at start-up, paid once by the first call instead.
"""

from __future__ import annotations

import hashlib
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Operation(StrEnum):
    """What a provider (and a model) can be asked to do."""

    GENERATE = "generate"
    EDIT = "edit"
    VARIATION = "variation"


class ImageOptions(BaseModel):
    """Options common to every operation. `None` means "not set": providers send only what is set."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    model: str
    n: int = 1
    size: str | None = Field(None, description="'WxH' (normalised, ASCII x) or 'auto'")
    quality: str | None = None
    background: str | None = None
    output_format: str | None = None
    output_compression: int | None = None
    moderation: str | None = None
    partial_images: int | None = None
    seed: int | None = None
    user: str | None = None
    extra: dict[str, Any] = Field(default_factory=dict, description="Provider-specific options")

    def dimensions(self) -> tuple[int, int] | None:
        """The requested size as (width, height), or None for 'auto' / unset."""
        if not self.size or self.size == "auto":
            return None
        width, height = self.size.split("x")
        return int(width), int(height)


class InputImage(BaseModel):
    """An image handed to an edit or variation, already decoded and checked."""

    model_config = ConfigDict(defer_build=True)

    data: bytes = Field(repr=False)
    mime_type: str
    width: int
    height: int
    has_alpha: bool = False
    filename: str = "image.png"


class GenerateRequest(ImageOptions):
    prompt: str


class EditRequest(ImageOptions):
    prompt: str
    images: list[InputImage]
    mask: InputImage | None = None
    input_fidelity: str | None = None


class VariationRequest(ImageOptions):
    image: InputImage


ImageRequest = GenerateRequest | EditRequest | VariationRequest


class GeneratedImage(BaseModel):
    """One image as produced by a provider: real bytes, with format and size sniffed from them."""

    model_config = ConfigDict(defer_build=True)

    data: bytes = Field(repr=False)
    mime_type: str
    width: int
    height: int
    has_alpha: bool = False
    revised_prompt: str | None = None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def extension(self) -> str:
        return {"image/jpeg": "jpg", "image/webp": "webp", "image/gif": "gif"}.get(self.mime_type, "png")

    @classmethod
    def from_bytes(cls, data: bytes, *, revised_prompt: str | None = None) -> GeneratedImage:
        """Build from raw bytes, sniffing the real format and dimensions (the API may differ from the ask).

        Raises `BadUpstreamResponseError` when the bytes are not an image.
        """
        from gpt_image_mcp.imaging import inspect_image

        info = inspect_image(data)
        return cls(
            data=data,
            mime_type=info.mime_type,
            width=info.width,
            height=info.height,
            has_alpha=info.has_alpha,
            revised_prompt=revised_prompt,
        )


class Usage(BaseModel):
    """Token usage as reported upstream; every field optional because many providers send none."""

    model_config = ConfigDict(extra="allow", defer_build=True)

    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None
    input_text_tokens: int | None = None
    input_image_tokens: int | None = None
    output_image_tokens: int | None = None
    output_text_tokens: int | None = None


class ImageResult(BaseModel):
    """What a provider returns for one call."""

    model_config = ConfigDict(defer_build=True)

    images: list[GeneratedImage]
    provider: str
    model: str
    usage: Usage | None = None
    request_id: str | None = None
    notes: list[str] = Field(default_factory=list, description="Things the user should know about the result")


class CheckResult(BaseModel):
    model_config = ConfigDict(defer_build=True)

    name: str
    ok: bool
    detail: str


class ValidationReport(BaseModel):
    """The outcome of `provider_validate`: configuration, credentials and one cheap upstream call."""

    model_config = ConfigDict(defer_build=True)

    provider: str
    ok: bool
    checks: list[CheckResult] = Field(default_factory=list)
