"""Azure OpenAI provider for gpt-image-mcp: deployment and v1 routes, API key or Entra ID."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gpt_image_mcp.lazy_exports import lazy_exports

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

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
