"""The solid example against core's conformance kit: once against a fake paint server on 127.0.0.1
(pytest-httpserver), once painting locally (no upstream, which the kit checks by blocking every socket)."""

from __future__ import annotations

import io
import re

import pytest
from gpt_image_mcp.testing import HTTPServerUpstream, ProviderConformance, RecordedRequest, png_bytes
from gpt_image_mcp_solid import SolidProvider
from PIL import Image

KEY = "solid-test-key-0123456789SECRET"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """No SOLID_* or server setting of the developer's machine (or a .env file) leaks into a test."""
    for name in (
        "SOLID_BASE_URL",
        "SOLID_API_KEY",
        "PROVIDER",
        "DEFAULT_MODEL",
        "DEFAULT_SINKS",
        "MODEL_CAPABILITIES_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


class PaintServer(HTTPServerUpstream):
    """A fake paint server: POST /paint answers PNG bytes, GET /health answers 200, errors are {"error": ...}."""

    image_path = re.compile(r"^/paint$")

    def image_response(self, request: RecordedRequest, n: int, size: tuple[int, int]):
        return self.bytes_response(png_bytes(size, (0, 128, 128)))

    def error_response(self, status: int, message: str):
        return self.json_response({"error": message}, status=status)

    def refusal_response(self, message: str):
        return self.json_response({"error": message}, status=451)

    def other_response(self, request: RecordedRequest):
        return self.json_response({"ok": True})


class TestSolidConformance(ProviderConformance):
    plugin_name = "solid"

    @pytest.fixture
    def upstream(self, httpserver):
        return PaintServer(httpserver)

    @pytest.fixture
    def provider(self, upstream, monkeypatch):
        monkeypatch.setenv("SOLID_BASE_URL", upstream.server.url_for(""))
        monkeypatch.setenv("SOLID_API_KEY", KEY)
        return SolidProvider()

    @pytest.fixture
    def secret(self):
        return KEY

    # The kit's fixtures serve the author's own tests too.
    async def test_the_paint_server_gets_prompt_size_and_key(self, upstream, service) -> None:
        upstream.succeed(1, (512, 512))
        outcome = await service.generate(prompt="teal sky", size="512x512")
        (request,) = upstream.image_requests()
        assert (request.method, request.json()) == ("POST", {"prompt": "teal sky", "width": 512, "height": 512})
        assert request.headers["Authorization"] == f"Bearer {KEY}"
        assert outcome.result.images[0].width == 512


class TestSolidLocalConformance(ProviderConformance):
    """Without SOLID_BASE_URL the provider paints locally."""

    has_upstream = False
    plugin_name = "solid"

    @pytest.fixture
    def provider(self):
        return SolidProvider()

    async def test_the_colour_comes_from_the_prompt(self, service) -> None:
        outcome = await service.generate(prompt="teal sky", size="256x256")
        with Image.open(io.BytesIO(outcome.result.images[0].data)) as image:
            assert image.getpixel((10, 10)) == (0, 128, 128)
