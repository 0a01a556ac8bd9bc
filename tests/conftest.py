"""Shared fixtures: a clean environment per test, and helpers to build the server in-process."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from gpt_image_mcp.metrics import Metrics, set_metrics
from gpt_image_mcp.server import build_server
from gpt_image_mcp.service import ImageService
from gpt_image_mcp.settings import Settings, load_settings

SETTING_PREFIXES = (
    "IMAGE_STORE",
    "PROGRESS_",
    "HTTP_",
    "RETRY_",
    "WORKSPACE_",
    "DEFAULT_SINKS",
    "PROVIDER",
    "OPENAI_",
    "AZURE_",
    "TOGETHER_",
    "CUSTOM_OPENAI_",
    "MCP_",
    "GPT_IMAGE_MCP_",
    "DEFAULT_MODEL",
    "PORT",
    "HOST",
    "LOG_",
    "USE_",
    "MAX_",
    "MODEL_CAPABILITIES_FILE",
    "OUTPUT_DIR",
    "IDENTITY_",
    "METRICS_",
    "RATE_LIMIT_",
    "TRUSTED_PROXIES",
    "ALLOWED_HOSTS",
    "ALLOWED_ORIGINS",
    "SHUTDOWN_",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No setting of the developer's machine (or a .env file) leaks into a test."""
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
def make_service() -> Callable[..., ImageService]:
    def factory(settings: Settings | None = None, **overrides: object) -> ImageService:
        return ImageService.create(settings or load_settings(**overrides))

    return factory


@pytest.fixture
def offline_server(make_service: Callable[..., ImageService]):
    return build_server(make_service(provider="offline"))


@pytest.fixture
def fresh_metrics() -> Iterator[Metrics]:
    """A new, empty metrics object as the process's current one for the duration of a test."""
    metrics = Metrics()
    previous = set_metrics(metrics)
    yield metrics
    set_metrics(previous)
