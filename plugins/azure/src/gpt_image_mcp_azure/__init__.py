"""Azure OpenAI provider for gpt-image-mcp: deployment and v1 routes, API key or Entra ID."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gpt_image_mcp_azure.identity import EntraTokenProvider, Token
    from gpt_image_mcp_azure.provider import AzureClientConfig, AzureOpenAIProvider
    from gpt_image_mcp_azure.settings import ENTRA_SCOPE, AzureSettings

#: Public name -> the submodule defining it. Imported on first access: loading the plugin imports only what
#: registering it needs (a plugin's modules are imported at every server start).
_EXPORTS = {
    "EntraTokenProvider": "identity",
    "Token": "identity",
    "AzureClientConfig": "provider",
    "AzureOpenAIProvider": "provider",
    "ENTRA_SCOPE": "settings",
    "AzureSettings": "settings",
}

__all__ = [
    "ENTRA_SCOPE",
    "AzureClientConfig",
    "AzureOpenAIProvider",
    "AzureSettings",
    "EntraTokenProvider",
    "Token",
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
