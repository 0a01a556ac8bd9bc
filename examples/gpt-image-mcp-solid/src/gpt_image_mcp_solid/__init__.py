"""An example provider plugin: fills the requested size with a colour named in the prompt."""

import io

from gpt_image_mcp import GeneratedImage, GenerateRequest, ImageProvider, ImageResult, Progress, hookimpl
from PIL import Image, ImageColor


class SolidProvider(ImageProvider):
    name = "solid"
    description = "Example plugin: one solid colour, named in the prompt (e.g. 'teal')."
    vendors = frozenset({"solid"})

    def model_table_layer(self) -> dict[str, dict[str, object]]:
        sizes = {"presets": ["256x256", "512x512", "1024x1024"], "allow_auto": True}
        return {"solid-1": {"vendor": "solid", "title": "Solid colour", "sizes": sizes, "max_n": 4}}

    def default_model(self) -> str:
        return "solid-1"

    async def generate(self, request: GenerateRequest, progress: Progress) -> ImageResult:
        await progress.stage("mixing paint")
        try:
            colour = ImageColor.getrgb(request.prompt.split()[0])
        except ValueError:
            colour = (128, 128, 128)
        buffer = io.BytesIO()
        Image.new("RGB", request.dimensions() or (256, 256), colour).save(buffer, format="PNG")
        image = GeneratedImage.from_bytes(buffer.getvalue())
        return ImageResult(images=[image] * request.n, provider=self.name, model=request.model)


@hookimpl
def register_providers(register):  # noqa: ANN001, ANN201
    register(SolidProvider())
