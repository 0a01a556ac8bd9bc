"""An example provider plugin: images of one colour, named in the prompt (e.g. "teal ...").

With SOLID_BASE_URL set it asks a paint server: POST /paint {"prompt", "width", "height"} answers PNG bytes,
GET /health checks the key (SOLID_API_KEY, sent as a bearer token). Without SOLID_BASE_URL it paints locally.

Pillow is imported in `paint`, when the first image is painted: a plugin's module is imported at every server
start, so it should import only what registering its provider needs.
"""

import io
import os
from collections.abc import Callable

import gpt_image_mcp as gim
import httpx2

ERRORS = {401: gim.AuthenticationError, 403: gim.PermissionDeniedError, 451: gim.RefusedError}


class SolidProvider(gim.ImageProvider):
    name = "solid"
    description = "Example plugin: one solid colour, named in the prompt (e.g. 'teal')."
    vendors = frozenset({"solid"})

    def model_table_layer(self) -> dict[str, dict[str, object]]:
        sizes = {"presets": ["256x256", "512x512", "1024x1024"], "allow_auto": True}
        entry = {"vendor": "solid", "title": "Solid colour", "sizes": sizes, "default_size": "256x256", "max_n": 4}
        return {"solid-1": entry}

    def default_model(self) -> str:
        return "solid-1"

    async def generate(self, request: gim.GenerateRequest, progress: gim.Progress) -> gim.ImageResult:
        await progress.stage("mixing paint")
        width, height = request.dimensions() or (256, 256)
        if os.environ.get("SOLID_BASE_URL"):
            body = {"prompt": request.prompt, "width": width, "height": height}
            data = (await self._call("POST", "/paint", body)).content
        else:
            data = paint(request.prompt, (width, height))
        image = gim.GeneratedImage.from_bytes(data)  # sniffs the real format and size
        return gim.ImageResult(images=[image] * request.n, provider=self.name, model=request.model)

    async def validate(self) -> gim.ValidationReport:
        if not os.environ.get("SOLID_BASE_URL"):
            return await super().validate()  # configuration only: nothing to reach
        try:
            await self._call("GET", "/health")
            check = gim.CheckResult(name="upstream", ok=True, detail="the paint server accepted the key")
        except gim.ImageMCPError as exc:
            check = gim.CheckResult(name="upstream", ok=False, detail=exc.message)
        return gim.ValidationReport(provider=self.name, ok=check.ok, checks=[check])

    async def _call(self, method: str, path: str, body: dict[str, object] | None = None) -> httpx2.Response:
        headers = {"Authorization": f"Bearer {key}"} if (key := os.environ.get("SOLID_API_KEY")) else {}
        try:  # one client per call: cancelling the call closes its connection
            async with httpx2.AsyncClient(base_url=os.environ["SOLID_BASE_URL"], headers=headers, timeout=60) as client:
                response = await client.request(method, path, json=body)
        except httpx2.TimeoutException as exc:
            raise gim.UpstreamTimeoutError("the paint server did not answer within 60 s") from exc
        except httpx2.HTTPError as exc:
            raise gim.UpstreamUnavailableError(f"cannot reach SOLID_BASE_URL ({type(exc).__name__})") from exc
        if response.status_code >= 400:  # its body may echo the key: keep it out of the message
            fallback = gim.UpstreamUnavailableError if response.status_code >= 500 else gim.InvalidRequestError
            error = ERRORS.get(response.status_code, fallback)
            raise error(f"the paint server answered HTTP {response.status_code}", http_status=response.status_code)
        return response


def paint(prompt: str, size: tuple[int, int]) -> bytes:
    from PIL import Image, ImageColor

    try:
        colour = ImageColor.getrgb(prompt.split()[0])
    except ValueError:
        colour = (128, 128, 128)
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


@gim.hookimpl
def register_providers(register: Callable[[gim.ImageProvider], None]) -> None:
    register(SolidProvider())
