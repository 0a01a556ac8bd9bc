"""Azure OpenAI provider for gpt-image-mcp: deployment and v1 routes, API key or Entra ID."""

from gpt_image_mcp_azure.identity import EntraTokenProvider, Token
from gpt_image_mcp_azure.provider import AzureClientConfig, AzureOpenAIProvider
from gpt_image_mcp_azure.settings import ENTRA_SCOPE, AzureSettings

__all__ = [
    "ENTRA_SCOPE",
    "AzureClientConfig",
    "AzureOpenAIProvider",
    "AzureSettings",
    "EntraTokenProvider",
    "Token",
]
