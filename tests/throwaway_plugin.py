"""A throwaway provider plugin for subprocess tests (installed on PYTHONPATH by `install_throwaway_plugin`).

- `slow`: waits SLOW_SECONDS (default 2) before returning one small PNG, to have a call in flight.
- `leaky`: fails in every way while putting LEAKY_API_KEY into error texts and log records, to prove that the
  key is masked everywhere.
"""

from __future__ import annotations

import io
import logging
import os

import anyio
from gpt_image_mcp import (
    AuthenticationError,
    CheckResult,
    GeneratedImage,
    GenerateRequest,
    ImageProvider,
    ImageResult,
    Progress,
    ValidationReport,
    hookimpl,
)
from PIL import Image

logger = logging.getLogger("throwaway_plugin")


def _png() -> GeneratedImage:
    """64x64 of one colour; with SLOW_NOISE=1 a 1024x1024 of noise (3 MB: a large answer)."""
    buffer = io.BytesIO()
    if os.environ.get("SLOW_NOISE") == "1":
        Image.frombytes("RGB", (1024, 1024), os.urandom(1024 * 1024 * 3)).save(buffer, format="PNG")
    else:
        Image.new("RGB", (64, 64), (10, 120, 200)).save(buffer, format="PNG")
    return GeneratedImage.from_bytes(buffer.getvalue())


class SlowProvider(ImageProvider):
    name = "slow"
    description = "Waits SLOW_SECONDS, then returns a 64x64 PNG."
    vendors = frozenset({"*"})

    def serves(self, model):
        return True

    async def generate(self, request: GenerateRequest, progress: Progress) -> ImageResult:
        logger.info("slow provider: call started")
        await anyio.sleep(float(os.environ.get("SLOW_SECONDS", "2")))
        logger.info("slow provider: call finished")
        return ImageResult(images=[_png()], provider=self.name, model=request.model)


class LeakyProvider(ImageProvider):
    name = "leaky"
    description = "Fails with its key in the error text."
    vendors = frozenset({"*"})

    def serves(self, model):
        return True

    def has_credentials(self) -> bool:
        return bool(os.environ.get("LEAKY_API_KEY"))

    async def generate(self, request: GenerateRequest, progress: Progress) -> ImageResult:
        key = os.environ["LEAKY_API_KEY"]
        logger.info("calling upstream with key %s", key)
        logger.debug("request headers: %r", {"api-key": key, "prompt": request.prompt})
        if "crash" in request.prompt:
            raise RuntimeError(f"upstream client blew up while sending key {key}")
        if "log-exception" in request.prompt:
            try:
                raise ValueError(f"bad key {key}")
            except ValueError:
                logger.exception("upstream failure for key %s", key)
        raise AuthenticationError(f"Incorrect API key provided: {key}. Check LEAKY_API_KEY.", http_status=401)

    async def validate(self) -> ValidationReport:
        key = os.environ["LEAKY_API_KEY"]
        return ValidationReport(
            provider=self.name,
            ok=False,
            checks=[CheckResult(name="credentials", ok=False, detail=f"key {key} was rejected upstream")],
        )


@hookimpl
def register_providers(register):
    register(SlowProvider())
    register(LeakyProvider())
