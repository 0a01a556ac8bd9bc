"""The sink contract: where finished images go besides the server's own image store."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from gpt_image_mcp.types import GeneratedImage


class SaveContext(BaseModel):
    """What a sink knows about the call that produced an image.

    `workspace` is the folder chosen for file output (a client root, else OUTPUT_DIR); `filename` and
    `subfolder` are the caller's unsanitised wishes: sinks that write files must sanitise them.
    """

    model_config = ConfigDict(defer_build=True)  # validator built on the first save, not at start-up

    provider: str
    model: str
    prompt: str | None = None
    index: int = 0
    image_id: str
    workspace: str | None = None
    filename: str | None = None
    subfolder: str | None = None


class SavedImage(BaseModel):
    """Where a sink put an image. `inline` sinks return no location: the bytes travel in the result."""

    model_config = ConfigDict(defer_build=True)

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

    def configuration_problems(self) -> list[str]:
        """What is missing in this sink's configuration, one actionable line each (readiness, config check)."""
        return []

    async def save(self, image: GeneratedImage, context: SaveContext) -> SavedImage:
        """Store `image`; raise (preferably `SinkError`) on failure: the image is kept in the store anyway."""
        raise NotImplementedError

    async def aclose(self) -> None:
        """Release resources; called when the server stops."""
