"""Fixtures for the OpenAI plugin tests: a clean environment, a fake OpenAI at pytest-httpserver, images."""

from __future__ import annotations

import base64
import io
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from gpt_image_mcp.testing.recorders import RecordingProgress, RecordingSleep
from gpt_image_mcp_openai import OpenAIProvider
from PIL import Image
from pytest_httpserver import HTTPServer

API_KEY = "sk-test-0123456789abcdefSECRET"
SETTING_PREFIXES = (
    "PROVIDER", "OPENAI_", "AZURE_", "TOGETHER_", "CUSTOM_OPENAI_", "MCP_", "GPT_IMAGE_MCP_", "DEFAULT_MODEL",
    "PORT", "HOST", "LOG_", "USE_", "MAX_", "RETRY_", "MODEL_CAPABILITIES_FILE", "OUTPUT_DIR",
)  # fmt: skip


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No OPENAI_* (or other) setting of the developer's machine or a .env file leaks into a test."""
    for name in list(os.environ):
        if name.upper().startswith(SETTING_PREFIXES):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    yield


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def png_bytes(size: tuple[int, int] = (32, 32), colour: tuple[int, ...] = (200, 30, 30), mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def jpeg_bytes(size: tuple[int, int] = (32, 32)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(buffer, format="JPEG")
    return buffer.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture
def images() -> Any:
    """Image helpers: `images.png(...)`, `images.jpeg(...)`, `images.b64(...)`."""

    class Images:
        png = staticmethod(png_bytes)
        jpeg = staticmethod(jpeg_bytes)
        b64 = staticmethod(b64)

    return Images


USAGE = {
    "input_tokens": 50,
    "output_tokens": 4160,
    "total_tokens": 4210,
    "input_tokens_details": {"text_tokens": 40, "image_tokens": 10},
    "output_tokens_details": {"text_tokens": 0, "image_tokens": 4160},
}


def images_response(*pictures: bytes, usage: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"created": 1_790_000_000, "data": [{"b64_json": b64(p)} for p in pictures]}
    if usage is not None:
        body["usage"] = usage
    return body | fields


@pytest.fixture
def response_body() -> Callable[..., dict[str, Any]]:
    """Build an Images API JSON body: `response_body(png, png2, usage=USAGE, size="1024x1024")`."""
    return images_response


@pytest.fixture
def usage_body() -> dict[str, Any]:
    return json.loads(json.dumps(USAGE))


@pytest.fixture
def openai_env(monkeypatch: pytest.MonkeyPatch, httpserver: HTTPServer) -> HTTPServer:
    """OPENAI_API_KEY and OPENAI_BASE_URL pointing at the fake; fast retries. Returns the fake server."""
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", httpserver.url_for("/v1"))
    monkeypatch.setenv("RETRY_BACKOFF_BASE", "0.001")
    return httpserver


@pytest.fixture
def sleeps() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
def provider(openai_env: HTTPServer, sleeps: RecordingSleep) -> OpenAIProvider:
    return OpenAIProvider(sleep=sleeps)


@pytest.fixture
def progress() -> RecordingProgress:
    return RecordingProgress()


@pytest.fixture
def api_key() -> str:
    return API_KEY
