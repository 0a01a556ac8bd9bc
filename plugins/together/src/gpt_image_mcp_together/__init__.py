"""Together AI provider for gpt-image-mcp: FLUX models through Together's image API."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gpt_image_mcp.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from gpt_image_mcp_together.provider import MODEL_TABLE, TogetherProvider
    from gpt_image_mcp_together.settings import TogetherSettings

#: Public name -> the submodule defining it. Imported on first access: loading the plugin imports only what
#: registering it needs (a plugin's modules are imported at every server start).
_EXPORTS = {
    "MODEL_TABLE": "provider",
    "TogetherProvider": "provider",
    "TogetherSettings": "settings",
}

__all__ = [
    "MODEL_TABLE",
    "TogetherProvider",
    "TogetherSettings",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
