"""The installed console script, as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

SCRIPT = str(Path(sys.executable).parent / "gpt-image-mcp")


def run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SCRIPT, *args], capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})}, cwd=cwd
    )


def test_help_lists_the_commands() -> None:
    result = run("--help")
    assert result.returncode == 0
    for command in ("serve", "generate", "providers", "plugins", "config"):
        assert command in result.stdout


def test_python_dash_m_works() -> None:
    result = subprocess.run([sys.executable, "-m", "gpt_image_mcp", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "generate" in result.stdout


def test_plugins_prints_json_with_the_builtins() -> None:
    result = run("plugins")
    assert result.returncode == 0, result.stderr
    plugins = {plugin["name"]: plugin for plugin in json.loads(result.stdout)}
    assert plugins["offline"]["builtin"] and plugins["offline"]["hooks"] == ["register_providers"]
    assert plugins["inline_sink"]["distribution"] == "gpt-image-mcp-core"
    assert plugins["solid"]["distribution"] == "gpt-image-mcp-solid" and plugins["solid"]["version"] == "0.1.0"


def test_a_broken_plugin_is_reported_not_fatal_unless_strict(tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "broken_plugin-0.1.dist-info").mkdir(parents=True)
    (site / "broken_plugin.py").write_text("raise RuntimeError('boom')\n")
    (site / "broken_plugin-0.1.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: broken-plugin\nVersion: 0.1\n"
    )
    (site / "broken_plugin-0.1.dist-info" / "entry_points.txt").write_text("[gpt_image_mcp]\nbroken = broken_plugin\n")
    env = {"PYTHONPATH": str(site)}
    result = run("plugins", env=env)
    assert result.returncode == 0
    broken = next(p for p in json.loads(result.stdout) if p["name"] == "broken")
    assert broken["status"] == "failed" and broken["error"] == "RuntimeError: boom"
    checked = run("config", "check", env=env)
    assert (
        checked.returncode == 0
        and "warning: plugin broken failed and was skipped: RuntimeError: boom" in checked.stderr
    )
    # Strict mode stops a start (and `config check`), but `plugins` still lists everything: it is the diagnosis.
    strict_env = env | {"GPT_IMAGE_MCP_STRICT_PLUGINS": "1"}
    strict = run("config", "check", env=strict_env)
    assert strict.returncode == 2 and "plugin 'broken' (broken-plugin) failed to load" in strict.stderr
    assert "Traceback" not in strict.stderr
    listed = run("plugins", env=strict_env | {"PROVIDER": "nosuch"})
    assert listed.returncode == 0
    assert next(p for p in json.loads(listed.stdout) if p["name"] == "broken")["status"] == "failed"


def test_generate_saves_files_and_prints_their_paths(tmp_path: Path) -> None:
    result = run("generate", "a lighthouse at dusk", "--size", "1536x1024", "-n", "2", "-o", "out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    paths = [Path(line) for line in result.stdout.splitlines()]
    assert len(paths) == 2 and all(path.parent == tmp_path / "out" for path in paths)
    assert all(Image.open(path).size == (1536, 1024) for path in paths)
    assert "offline placeholder" in result.stderr


def test_generate_to_a_file_never_overwrites(tmp_path: Path) -> None:
    first = run("generate", "fox", "-o", "fox.webp", "--format", "webp", cwd=tmp_path)
    second = run("generate", "fox", "-o", "fox.webp", "--format", "webp", cwd=tmp_path)
    assert first.stdout.strip() == str(tmp_path / "fox.webp")
    assert second.stdout.strip() == str(tmp_path / "fox-1.webp")
    assert Image.open(tmp_path / "fox-1.webp").format == "WEBP"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--size", "1920x1080"], "nearest valid size is 1920x1088"),
        (["-n", "11"], "n must be between 1 and 10"),
        (["--model", "dall-e-2"], "dall-e-2 was shut down"),
        (["--provider", "nope"], "PROVIDER names nope, which is not installed"),
        (["-n", "2", "-o", "one.png"], "-o one.png names one image file, but 2 images were asked for"),
    ],
)
def test_generate_bad_input_exits_2_with_a_message(tmp_path: Path, args: list[str], message: str) -> None:
    result = run("generate", "fox", *args, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not [path for path in tmp_path.rglob("*") if path.is_file()]


def test_an_output_folder_that_cannot_be_made_fails_before_generating(tmp_path: Path) -> None:
    (tmp_path / "file.txt").write_text("not a folder")
    store = tmp_path / "store"
    result = run("generate", "fox", "-o", "file.txt/out", env={"IMAGE_STORE_DIR": str(store)}, cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "cannot create output folder file.txt/out" in result.stderr
    assert not store.exists() or not [path for path in store.iterdir() if path.suffix == ".png"]


def test_an_image_that_cannot_be_saved_is_reported_with_where_it_is_kept(tmp_path: Path) -> None:
    store = tmp_path / "store"
    # /proc exists and is a folder, but nobody (root included) can create files in it.
    result = run("generate", "fox", "-n", "2", "-o", "/proc", env={"IMAGE_STORE_DIR": str(store)}, cwd=tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    kept = sorted(store.glob("*.png"))
    assert len(kept) == 2
    assert result.stderr.count("cannot write /proc/image-") == 2
    assert all(f"the image is kept in the image store as {path}" in result.stderr for path in kept)


def test_invalid_configuration_exits_2_listing_every_problem() -> None:
    result = run("serve", env={"PORT": "x", "MCP_TRANSPORT": "pigeon"})
    assert result.returncode == 2
    assert "PORT:" in result.stderr and "MCP_TRANSPORT:" in result.stderr and "Traceback" not in result.stderr


def test_config_masks_secrets_and_check_reports_problems(tmp_path: Path) -> None:
    shown = run("config", env={"MCP_API_KEY": "super-secret-value"})
    assert shown.returncode == 0 and "super-secret-value" not in shown.stdout
    assert json.loads(shown.stdout)["mcp_api_key"] == "**********"
    assert run("config", "check").returncode == 0
    bad = run("config", "check", env={"MODEL_CAPABILITIES_FILE": str(tmp_path / "missing.toml")})
    assert bad.returncode == 2 and "missing.toml does not exist" in bad.stderr


def test_providers_lists_models(tmp_path: Path) -> None:
    result = run("providers", "--json")
    assert result.returncode == 0
    listing = json.loads(result.stdout)
    assert listing["default_provider"] == "offline"
    assert "gpt-image-2" in [model["name"] for model in listing["providers"][0]["models"]]
    validated = run("providers", "--validate")
    assert validated.returncode == 0 and "ok   configuration" in validated.stdout


def test_cli_errors_never_show_the_key(httpserver, tmp_path: Path) -> None:
    key = "sk-cli-secret-0123456789abcdef"
    body = {
        "error": {
            "message": f"Incorrect API key provided: {key}",
            "type": "invalid_request_error",
            "code": "invalid_api_key",
            "param": None,
        }
    }
    httpserver.expect_request("/v1/images/generations").respond_with_json(body, status=401)
    httpserver.expect_request("/v1/models/gpt-image-2").respond_with_json(body, status=401)
    env = {"PROVIDER": "openai", "OPENAI_API_KEY": key, "OPENAI_BASE_URL": httpserver.url_for("/v1")}
    generated = run("generate", "fox", env=env, cwd=tmp_path)
    validated = run("providers", "--validate", env=env, cwd=tmp_path)
    assert generated.returncode == 1 and "authentication" in generated.stderr
    assert validated.returncode == 1 and "FAIL" in validated.stdout
    for output in (generated.stdout, generated.stderr, validated.stdout, validated.stderr):
        assert key not in output


def test_config_check_reports_unknown_and_unconfigured_default_sinks() -> None:
    result = run("config", "check", env={"DEFAULT_SINKS": "inlin,s3"})
    assert result.returncode == 2
    assert "DEFAULT_SINKS names 'inlin'" in result.stderr and "S3_BUCKET" in result.stderr


def test_a_port_in_use_or_a_host_that_is_not_here_exits_2_before_serving(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        busy = run("serve", "--transport", "http", "--port", port, cwd=tmp_path)
    assert busy.returncode == 2 and "Traceback" not in busy.stderr
    assert f"HOST 127.0.0.1 / PORT {port}: Address already in use (another server is listening there" in busy.stderr
    assert "Serving MCP on" not in busy.stderr
    unknown = run("serve", "--transport", "http", "--host", "no-such-host.invalid", "--port", port, cwd=tmp_path)
    assert unknown.returncode == 2 and "cannot resolve 'no-such-host.invalid'" in unknown.stderr


def test_an_image_kept_only_in_memory_is_written_to_the_temporary_folder(tmp_path: Path, monkeypatch) -> None:
    import tempfile

    from gpt_image_mcp.commands import _where_kept
    from gpt_image_mcp.service import DeliveredImage
    from gpt_image_mcp.store import StoredImage
    from gpt_image_mcp.types import GeneratedImage

    from tests.helpers import png_bytes

    image = GeneratedImage.from_bytes(png_bytes())
    fields = {"mime_type": "image/png", "width": 64, "height": 64, "bytes": len(image.data), "sha256": image.sha256}
    record = StoredImage(id="00112233aabbccdd", created=1.0, provider="p", model="m", in_memory=True, **fields)
    monkeypatch.setattr(tempfile, "gettempdir", lambda: str(tmp_path))
    message = _where_kept(tmp_path / "store", DeliveredImage(stored=record), image)
    written = tmp_path / "gpt-image-mcp-00112233aabbccdd.png"
    assert message == f"the image store could not keep it either; it was written to {written}"
    assert written.read_bytes() == image.data
    on_disk = DeliveredImage(stored=record.__class__(**{**record.__dict__, "in_memory": False}))
    assert _where_kept(tmp_path / "store", on_disk, image).startswith("the image is kept in the image store as ")
