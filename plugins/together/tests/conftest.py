"""Fixtures for the Together plugin tests: a clean environment and a fake Together API at pytest-httpserver."""

from __future__ import annotations

import base64
import io
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from gpt_image_mcp.testing.recorders import RecordingProgress, RecordingSleep
from gpt_image_mcp_together import TogetherProvider
from PIL import Image
from pytest_httpserver import HTTPServer

API_KEY = "together-test-key-0123456789SECRET"
SETTING_PREFIXES = (
    "PROVIDER", "OPENAI_", "AZURE_", "TOGETHER_", "CUSTOM_OPENAI_", "MCP_", "GPT_IMAGE_MCP_", "DEFAULT_MODEL",
    "PORT", "HOST", "LOG_", "USE_", "MAX_", "RETRY_", "MODEL_CAPABILITIES_FILE", "OUTPUT_DIR", "IMAGE_STORE",
    "DEFAULT_SINKS", "WORKSPACE_",
)  # fmt: skip


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No TOGETHER_* (or other) setting of the developer's machine or a .env file leaks into a test."""
    for name in list(os.environ):
        if name.upper().startswith(SETTING_PREFIXES):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("IMAGE_STORE_DIR", str(tmp_path / "store"))
    monkeypatch.setenv("OUTPUT_DIR", str(tmp_path / "output"))
    monkeypatch.chdir(tmp_path)
    yield


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def api_key() -> str:
    return API_KEY


def jpeg_bytes(size: tuple[int, int] = (32, 32), colour: tuple[int, int, int] = (10, 120, 200)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="JPEG")
    return buffer.getvalue()


def png_bytes(size: tuple[int, int] = (32, 32)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def images() -> Any:
    """Image helpers: `images.jpeg(...)`, `images.png(...)`."""

    class Images:
        jpeg = staticmethod(jpeg_bytes)
        png = staticmethod(png_bytes)

    return Images


def together_response(*pictures: bytes, model: str = "black-forest-labs/FLUX.1-schnell") -> dict[str, Any]:
    """The shape Together answers with: an id, the model, `object: list`, data items with index and b64_json."""
    data = [
        {"index": index, "b64_json": base64.b64encode(picture).decode(), "timings": {"inference": 0.4}}
        for index, picture in enumerate(pictures)
    ]
    return {"id": "together-req-1", "model": model, "object": "list", "data": data}


@pytest.fixture
def response_body() -> Callable[..., dict[str, Any]]:
    return together_response


@pytest.fixture
def together(monkeypatch: pytest.MonkeyPatch, httpserver: HTTPServer) -> HTTPServer:
    """TOGETHER_API_KEY and TOGETHER_BASE_URL pointing at the fake; fast retries. Returns the fake server."""
    monkeypatch.setenv("TOGETHER_API_KEY", API_KEY)
    monkeypatch.setenv("TOGETHER_BASE_URL", httpserver.url_for("/v1"))
    monkeypatch.setenv("RETRY_BACKOFF_BASE", "0.001")
    return httpserver


@pytest.fixture
def provider() -> TogetherProvider:
    return TogetherProvider(sleep=RecordingSleep())


@pytest.fixture
def progress() -> RecordingProgress:
    return RecordingProgress()
