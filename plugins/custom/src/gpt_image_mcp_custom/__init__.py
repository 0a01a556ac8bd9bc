"""Custom OpenAI-compatible endpoint provider for gpt-image-mcp, with per-server compatibility switches."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gpt_image_mcp_custom.fetch import FetchPolicy, FetchRefused, fetch_image
    from gpt_image_mcp_custom.provider import CustomProvider
    from gpt_image_mcp_custom.settings import CustomSettings

#: Public name -> the submodule defining it. Imported on first access: loading the plugin imports only what
#: registering it needs (a plugin's modules are imported at every server start).
_EXPORTS = {
    "FetchPolicy": "fetch",
    "FetchRefused": "fetch",
    "fetch_image": "fetch",
    "CustomProvider": "provider",
    "CustomSettings": "settings",
}

__all__ = [
    "CustomProvider",
    "CustomSettings",
    "FetchPolicy",
    "FetchRefused",
    "fetch_image",
]


def __getattr__(name: str) -> Any:
    """Import a public name's module on first access (PEP 562), then keep the name here."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
