"""Custom OpenAI-compatible endpoint provider for gpt-image-mcp, with per-server compatibility switches."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gpt_image_mcp.lazy_exports import lazy_exports

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

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
