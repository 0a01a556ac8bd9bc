"""Fixtures for the Azure plugin tests: a clean environment, a fake Azure OpenAI resource and a fake
managed identity endpoint, both pytest-httpserver instances on 127.0.0.1."""

from __future__ import annotations

import base64
import io
import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from gpt_image_mcp.testing.recorders import RecordingProgress, RecordingSleep
from gpt_image_mcp_azure import AzureOpenAIProvider
from PIL import Image
from pytest_httpserver import HTTPServer

API_KEY = "azure-test-key-0123456789abcdefSECRET"
DEPLOYMENT = "images-prod"
API_VERSION = "2025-04-01-preview"
IDENTITY_SECRET = "identity-header-secret-42"
SETTING_PREFIXES = (
    "PROVIDER", "OPENAI_", "AZURE_", "TOGETHER_", "CUSTOM_OPENAI_", "MCP_", "GPT_IMAGE_MCP_", "DEFAULT_MODEL",
    "PORT", "HOST", "LOG_", "USE_", "MAX_", "RETRY_", "MODEL_CAPABILITIES_FILE", "OUTPUT_DIR", "IMAGE_STORE",
    "IDENTITY_", "MSI_", "IMDS_", "DEFAULT_SINKS", "WORKSPACE_",
)  # fmt: skip


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No AZURE_* (or other) setting, Azure CLI login or token cache of the developer's machine leaks in."""
    for name in list(os.environ):
        if name.upper().startswith(SETTING_PREFIXES):
            monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("AZURE_CONFIG_DIR", str(home / ".azure"))
    monkeypatch.setenv("IMAGE_STORE_DIR", str(tmp_path / "store"))
    monkeypatch.setenv("OUTPUT_DIR", str(tmp_path / "output"))
    monkeypatch.chdir(tmp_path)
    yield


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def cfg() -> SimpleNamespace:
    """The values the fakes expect: `cfg.api_key`, `cfg.deployment`, `cfg.api_version`, `cfg.identity_secret`."""
    return SimpleNamespace(
        api_key=API_KEY, deployment=DEPLOYMENT, api_version=API_VERSION, identity_secret=IDENTITY_SECRET
    )


def png_bytes(size: tuple[int, int] = (32, 32), colour: tuple[int, ...] = (200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def images_response(*pictures: bytes, **fields: Any) -> dict[str, Any]:
    data = [{"b64_json": base64.b64encode(picture).decode()} for picture in pictures]
    return {"created": 1_790_000_000, "data": data} | fields


@pytest.fixture
def png() -> Callable[..., bytes]:
    return png_bytes


@pytest.fixture
def response_body() -> Callable[..., dict[str, Any]]:
    return images_response


@pytest.fixture
def azure(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> HTTPServer:
    """The fake Azure OpenAI resource, configured for the deployment route; no credential yet."""
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", httpserver.url_for("/").rstrip("/"))
    monkeypatch.setenv("AZURE_OPENAI_DEPLOYMENT", DEPLOYMENT)
    monkeypatch.setenv("RETRY_BACKOFF_BASE", "0.001")
    return httpserver


@pytest.fixture
def azure_key(azure: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> HTTPServer:
    """The fake Azure resource with key authentication."""
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", API_KEY)
    return azure


class IdentityEndpoint:
    """A fake App Service managed identity endpoint: checks X-IDENTITY-HEADER and issues numbered tokens."""

    def __init__(self, server: HTTPServer, lifetime: float) -> None:
        self.server = server
        self.lifetime = lifetime
        self.issued: list[str] = []
        self.requests: list[dict[str, Any]] = []
        server.expect_request("/msi/token", method="GET").respond_with_handler(self._issue)

    def _issue(self, request: Any) -> Any:
        from werkzeug import Response

        self.requests.append({"args": dict(request.args), "headers": dict(request.headers)})
        if request.headers.get("X-IDENTITY-HEADER") != IDENTITY_SECRET:
            return Response('{"error": "missing or wrong X-IDENTITY-HEADER"}', status=401)
        token = f"entra-token-{len(self.issued) + 1}-abcdefghijklmnop"
        self.issued.append(token)
        body = {
            "access_token": token,
            "expires_on": str(int(time.time() + self.lifetime)),
            "resource": request.args.get("resource"),
            "token_type": "Bearer",
            "client_id": request.args.get("client_id", "system-assigned-id"),
        }
        return Response(json.dumps(body), status=200, content_type="application/json")


@pytest.fixture
def identity_server() -> Iterator[HTTPServer]:
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()


@pytest.fixture
def managed_identity(identity_server: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> Callable[..., IdentityEndpoint]:
    """`managed_identity(lifetime=3600)`: App Service style IDENTITY_ENDPOINT + IDENTITY_HEADER at the fake."""

    def make(lifetime: float = 3600) -> IdentityEndpoint:
        monkeypatch.setenv("IDENTITY_ENDPOINT", identity_server.url_for("/msi/token"))
        monkeypatch.setenv("IDENTITY_HEADER", IDENTITY_SECRET)
        return IdentityEndpoint(identity_server, lifetime)

    return make


@pytest.fixture
def provider() -> AzureOpenAIProvider:
    return AzureOpenAIProvider(sleep=RecordingSleep())


@pytest.fixture
def progress() -> RecordingProgress:
    return RecordingProgress()
