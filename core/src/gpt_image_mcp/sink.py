"""The sink contract: where finished images go besides the server's own image store."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel

from gpt_image_mcp.types import GeneratedImage


class SaveContext(BaseModel):
    """What a sink knows about the call that produced an image."""

    provider: str
    model: str
    prompt: str | None = None
    index: int = 0
    image_id: str


class SavedImage(BaseModel):
    """Where a sink put an image. `inline` sinks return no location: the bytes travel in the result."""

    sink: str
    inline: bool = False
    path: str | None = None
    uri: str | None = None
    url: str | None = None


class ImageSink:
    """Base class for sinks. Register an instance from `register_sinks`."""

    #: Unique name users select with settings or the tools' arguments.
    name: ClassVar[str]
    description: ClassVar[str] = ""

    async def save(self, image: GeneratedImage, context: SaveContext) -> SavedImage:
        raise NotImplementedError

    async def aclose(self) -> None:
        """Release resources; called when the server stops."""
