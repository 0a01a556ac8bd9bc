"""Together AI provider for gpt-image-mcp: FLUX models through Together's image API."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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
