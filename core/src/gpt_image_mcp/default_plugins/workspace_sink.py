"""The built-in `workspace` sink: saves images as files in the client's workspace or OUTPUT_DIR."""

from __future__ import annotations

import re
import time
from pathlib import Path

import anyio

from gpt_image_mcp.errors import SinkError
from gpt_image_mcp.hookspecs import hookimpl
from gpt_image_mcp.safe_files import sanitize_component, sanitize_subfolder, write_new_file
from gpt_image_mcp.sink import ImageSink, SaveContext, SavedImage
from gpt_image_mcp.types import GeneratedImage


class WorkspaceSink(ImageSink):
    name = "workspace"
    description = "Saves images as files (client workspace root, else OUTPUT_DIR); never overwrites."

    async def save(self, image: GeneratedImage, context: SaveContext) -> SavedImage:
        if context.workspace is None:
            raise SinkError("no workspace folder is known: set OUTPUT_DIR")
        stem = _stem(context)
        subfolder = sanitize_subfolder(context.subfolder)
        path = await anyio.to_thread.run_sync(
            write_new_file, Path(context.workspace), subfolder, stem, image.extension, image.data
        )
        return SavedImage(sink=self.name, path=str(path), uri=path.as_uri())


def _stem(context: SaveContext) -> str:
    if context.filename:
        name = sanitize_component(Path(context.filename.replace("\\", "/")).name)
        stem = re.sub(r"\.(png|jpe?g|webp|gif)$", "", name, flags=re.IGNORECASE)
        if stem:
            return stem
    slug = sanitize_component(re.sub(r"\s+", "-", (context.prompt or "image").lower()))[:40].strip("-_.")
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{slug or 'image'}-{context.index + 1}"


@hookimpl
def register_sinks(register) -> None:  # noqa: ANN001 - pluggy passes the registry's callable
    register(WorkspaceSink())
