"""The built-in `inline` sink: the image travels in the tool result as base64 image content."""

from __future__ import annotations

from gpt_image_mcp.hookspecs import hookimpl
from gpt_image_mcp.sink import ImageSink, SaveContext, SavedImage
from gpt_image_mcp.types import GeneratedImage


class InlineSink(ImageSink):
    name = "inline"
    description = "Returns images inside the MCP tool result (base64 image content)."

    async def save(self, image: GeneratedImage, context: SaveContext) -> SavedImage:
        return SavedImage(sink=self.name, inline=True)


@hookimpl
def register_sinks(register) -> None:  # noqa: ANN001 - pluggy passes the registry's callable
    register(InlineSink())
