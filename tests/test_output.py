"""Results that never break a client: byte budget, previews, image:// resources, workspace, references."""

from __future__ import annotations

import base64
import hashlib
import io
import random
from pathlib import Path

import pytest
from gpt_image_mcp import GeneratedImage, GenerateRequest, ImageProvider, ImageResult, Progress, hookimpl
from gpt_image_mcp.server import build_server
from gpt_image_mcp.service import ImageService
from gpt_image_mcp.settings import load_settings
from mcp import Client
from mcp_types import ImageContent, ListRootsResult, ResourceLink, Root
from PIL import Image

from tests.helpers import decode_image, png_bytes

pytestmark = pytest.mark.anyio
MIB = 1024 * 1024


class Noisy(ImageProvider):
    """Returns incompressible images, as big as real 4K PNGs."""

    name = "noisy"

    async def generate(self, request: GenerateRequest, progress: Progress) -> ImageResult:
        width, height = request.dimensions() or (1024, 1024)
        mode = "RGBA" if request.background == "transparent" else "RGB"
        images = []
        for index in range(request.n):
            noise = random.Random(f"{request.prompt}{index}").randbytes(width * height * len(mode))
            image = Image.frombytes(mode, (width, height), noise)
            if mode == "RGBA":
                image.putalpha(Image.linear_gradient("L").resize((width, height)))
            buffer = io.BytesIO()
            image.save(buffer, format="PNG", compress_level=1)
            images.append(GeneratedImage.from_bytes(buffer.getvalue()))
        return ImageResult(images=images, provider=self.name, model=request.model)


class Plugin:
    @hookimpl
    def register_providers(self, register):
        register(Noisy())


def noisy_server(**settings: object):
    service = ImageService.create(load_settings(provider="noisy,offline", **settings), extra_plugins=[("t", Plugin())])
    return build_server(service)


def wire_size(result) -> int:
    return len(result.model_dump_json(by_alias=True, exclude_none=True))


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_a_4k_image_comes_back_under_budget_with_preview_and_full_link(mode: str) -> None:
    server = noisy_server()
    async with Client(server, mode=mode) as client:
        result = await client.call_tool("image_generate", {"prompt": "city", "size": "3840x2160"})
        info = result.structured_content["images"][0]
        assert info["bytes"] > 5 * MIB and not info["inline"]
        assert wire_size(result) < 1 * MIB
        preview = next(block for block in result.content if isinstance(block, ImageContent))
        assert decode_image(preview.data).size == (info["preview"]["width"], info["preview"]["height"])
        assert info["preview"]["width"] / info["preview"]["height"] == pytest.approx(3840 / 2160, rel=0.01)
        link = next(block for block in result.content if isinstance(block, ResourceLink))
        assert str(link.uri) == info["uri"] and link.size == info["bytes"]
        assert info["uri"] in result.content[0].text
        read = await client.read_resource(info["uri"])
        blob = read.contents[0]
        assert blob.mime_type == "image/png"
        assert hashlib.sha256(base64.b64decode(blob.blob)).hexdigest() == info["sha256"]


async def test_four_images_share_the_budget_and_transparent_previews_keep_alpha() -> None:
    server = noisy_server()
    async with Client(server) as client:
        result = await client.call_tool(
            "image_generate",
            {"prompt": "x", "size": "1536x1024", "n": 4, "background": "transparent", "model": "gpt-image-1.5"},
        )
    assert not result.is_error, result.content[0].text
    assert wire_size(result) < 1 * MIB
    previews = [block for block in result.content if isinstance(block, ImageContent)]
    assert len(previews) == 4
    for block in previews:
        image = decode_image(block.data)
        assert block.mime_type == "image/png" and image.mode == "RGBA"
        assert image.getchannel("A").getextrema()[0] < 50


async def test_small_images_go_inline_at_full_quality_and_budget_is_per_call() -> None:
    server = noisy_server()
    async with Client(server) as client:
        small = await client.call_tool("image_generate", {"prompt": "x", "size": "1024x1024", "provider": "offline"})
        none = await client.call_tool(
            "image_generate", {"prompt": "x", "size": "1024x1024", "provider": "offline", "max_inline_bytes": 0}
        )
    assert small.structured_content["images"][0]["inline"] is True
    full = next(block for block in small.content if isinstance(block, ImageContent))
    assert hashlib.sha256(base64.b64decode(full.data)).hexdigest() == small.structured_content["images"][0]["sha256"]
    assert not any(isinstance(block, ImageContent) for block in none.content)
    assert any(isinstance(block, ResourceLink) for block in none.content)


async def test_resources_list_recent_images_with_their_mime_types(offline_server) -> None:
    async with Client(offline_server) as client:
        result = await client.call_tool("image_generate", {"prompt": "x", "output_format": "webp"})
        listed = await client.list_resources()
        templates = await client.list_resource_templates()
    uri = result.structured_content["images"][0]["uri"]
    entry = next(r for r in listed.resources if str(r.uri) == uri)
    assert entry.mime_type == "image/webp"
    assert any(t.uri_template == "image://{image_id}" for t in templates.resource_templates)


async def test_unknown_image_resource_is_an_invalid_params_error(offline_server) -> None:
    from mcp.shared.exceptions import MCPError

    async with Client(offline_server) as client:
        for uri in ("image://0123456789abcdef", "image://../../etc/passwd"):
            with pytest.raises(MCPError, match="Unknown image") as info:
                await client.read_resource(uri)
            assert info.value.code == -32602  # invalid params, not an internal error


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_generate_then_edit_by_reference_in_two_short_calls(offline_server, mode: str) -> None:
    async with Client(offline_server, mode=mode) as client:
        first = await client.call_tool("image_generate", {"prompt": "a house", "size": "1024x1024"})
        uri = first.structured_content["images"][0]["uri"]
        edited = await client.call_tool("image_edit", {"prompt": "add snow", "image": uri})
    assert not edited.is_error, edited.content[0].text
    assert edited.structured_content["images"][0]["width"] == 1024


async def test_save_to_workspace_uses_output_dir_and_edit_reads_that_path(offline_server, tmp_path: Path) -> None:
    async with Client(offline_server) as client:
        saved = await client.call_tool(
            "image_generate",
            {"prompt": "a house", "save_to_workspace": True, "filename": "../../house.png", "subfolder": "../x"},
        )
        info = saved.structured_content["images"][0]
        path = Path(info["path"])
        assert path.parent == (tmp_path / "output" / "x").resolve() and path.name == "house.png"
        assert info["file_uri"] == path.as_uri() and str(path) in saved.content[0].text
        by_path = await client.call_tool("image_edit", {"prompt": "snow", "image": str(path)})
        relative = await client.call_tool("image_edit", {"prompt": "snow", "image": "x/house.png"})
        outside = tmp_path / "elsewhere.png"
        outside.write_bytes(png_bytes())
        refused = await client.call_tool("image_edit", {"prompt": "snow", "image": str(outside)})
        escape = await client.call_tool("image_edit", {"prompt": "snow", "image": "../elsewhere.png"})
    assert not by_path.is_error and not relative.is_error
    assert refused.is_error and "outside the folders images may be read from" in refused.content[0].text
    assert escape.is_error and "outside the folders" in escape.content[0].text


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_client_roots_decide_the_workspace(offline_server, tmp_path: Path, mode: str) -> None:
    project = tmp_path / "project"
    project.mkdir()
    calls = []

    async def list_roots(context) -> ListRootsResult:
        calls.append(1)
        return ListRootsResult(roots=[Root(uri=project.as_uri(), name="project")])

    async with Client(offline_server, mode=mode, list_roots_callback=list_roots) as client:
        plain = await client.call_tool("image_generate", {"prompt": "x"})
        saved = await client.call_tool("image_generate", {"prompt": "x", "save_to_workspace": True})
    assert len(calls) == 1  # only asked when the workspace matters
    assert not plain.is_error
    path = Path(saved.structured_content["images"][0]["path"])
    assert path.parent == (project / "generated-images").resolve()


async def test_workspace_allowed_roots_filter_client_roots(tmp_path: Path) -> None:
    project, allowed = tmp_path / "project", tmp_path / "allowed"
    project.mkdir()
    allowed.mkdir()
    server = build_server(ImageService.create(load_settings(workspace_allowed_roots=str(allowed))))

    async def list_roots(context) -> ListRootsResult:
        return ListRootsResult(roots=[Root(uri=project.as_uri())])

    async with Client(server, mode="legacy", list_roots_callback=list_roots) as client:
        saved = await client.call_tool("image_generate", {"prompt": "x", "save_to_workspace": True})
    path = Path(saved.structured_content["images"][0]["path"])
    assert path.is_relative_to((tmp_path / "output").resolve())


async def test_sink_failure_keeps_the_image_and_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "blocked").write_text("a file where the output folder should be")
    monkeypatch.setenv("OUTPUT_DIR", str(tmp_path / "blocked"))
    server = build_server(ImageService.create(load_settings()))
    async with Client(server) as client:
        result = await client.call_tool("image_generate", {"prompt": "x", "save_to_workspace": True})
        info = result.structured_content["images"][0]
        assert not result.is_error and info["inline"] and info["saved"] == []
        assert any("sink workspace could not save image 1" in note for note in result.structured_content["notes"])
        assert info["uri"] in result.content[0].text
        assert (await client.read_resource(info["uri"])).contents[0].mime_type == "image/png"


async def test_absolute_paths_outside_the_folders_are_refused_not_decoded(offline_server) -> None:
    async with Client(offline_server) as client:
        result = await client.call_tool("image_edit", {"prompt": "x", "image": "/etc/passwd"})
        jpeg = io.BytesIO()
        Image.new("RGB", (64, 64), (1, 2, 3)).save(jpeg, format="JPEG")
        encoded = base64.b64encode(jpeg.getvalue()).decode()
        assert encoded.startswith("/9j/")
        ok = await client.call_tool("image_edit", {"prompt": "x", "image": encoded})
    assert result.is_error and "outside the folders images may be read from" in result.content[0].text
    assert not ok.is_error, ok.content[0].text


async def test_over_http_client_roots_are_ignored_unless_allowed(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()

    async def list_roots(context) -> ListRootsResult:
        return ListRootsResult(roots=[Root(uri=project.as_uri())])

    def saved_in(**settings: object) -> Path:
        async def call() -> Path:
            server = build_server(ImageService.create(load_settings(transport="http", **settings)))
            async with Client(server, mode="legacy", list_roots_callback=list_roots) as client:
                result = await client.call_tool("image_generate", {"prompt": "x", "save_to_workspace": True})
            return Path(result.structured_content["images"][0]["path"]).parent

        return call  # type: ignore[return-value]

    assert await saved_in()() == (tmp_path / "output").resolve()
    assert await saved_in(workspace_allowed_roots=str(tmp_path))() == (project / "generated-images").resolve()
