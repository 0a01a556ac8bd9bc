"""Fixtures for the custom provider tests: a clean environment and a fake OpenAI-compatible server."""

from __future__ import annotations

import base64
import io
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from gpt_image_mcp.testing.recorders import RecordingProgress, RecordingSleep
from gpt_image_mcp_custom import CustomProvider
from PIL import Image
from pytest_httpserver import HTTPServer

API_KEY = "custom-test-key-0123456789SECRET"
SETTING_PREFIXES = (
    "PROVIDER", "OPENAI_", "AZURE_", "TOGETHER_", "CUSTOM_OPENAI_", "MCP_", "GPT_IMAGE_MCP_", "DEFAULT_MODEL",
    "PORT", "HOST", "LOG_", "USE_", "MAX_", "RETRY_", "MODEL_CAPABILITIES_FILE", "OUTPUT_DIR", "IMAGE_STORE",
    "DEFAULT_SINKS", "WORKSPACE_",
)  # fmt: skip


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No CUSTOM_OPENAI_* (or other) setting of the developer's machine or a .env file leaks into a test."""
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


def png_bytes(size: tuple[int, int] = (32, 32), colour: tuple[int, ...] = (200, 30, 30), mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture
def images() -> Any:
    """Image helpers: `images.png(...)`, `images.b64(...)`."""

    class Images:
        png = staticmethod(png_bytes)
        b64 = staticmethod(b64)

    return Images


def images_response(*pictures: bytes, **fields: Any) -> dict[str, Any]:
    return {"created": 1_790_000_000, "data": [{"b64_json": b64(p)} for p in pictures]} | fields


@pytest.fixture
def response_body() -> Callable[..., dict[str, Any]]:
    return images_response


@pytest.fixture
def custom(monkeypatch: pytest.MonkeyPatch, httpserver: HTTPServer) -> HTTPServer:
    """CUSTOM_OPENAI_BASE_URL at the fake (no key, no models); fast retries. Returns the fake server."""
    monkeypatch.setenv("CUSTOM_OPENAI_BASE_URL", httpserver.url_for("/v1"))
    monkeypatch.setenv("RETRY_BACKOFF_BASE", "0.001")
    return httpserver


@pytest.fixture
def provider() -> CustomProvider:
    return CustomProvider(sleep=RecordingSleep())


@pytest.fixture
def progress() -> RecordingProgress:
    return RecordingProgress()
