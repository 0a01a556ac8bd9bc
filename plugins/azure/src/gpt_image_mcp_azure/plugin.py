"""Entry point of the `azure` plugin: registers `AzureOpenAIProvider` (imports neither openai nor azure-identity)."""

from __future__ import annotations

from collections.abc import Callable

from gpt_image_mcp.hookspecs import hookimpl
from gpt_image_mcp.provider import ImageProvider

from gpt_image_mcp_azure.provider import AzureOpenAIProvider


@hookimpl
def register_providers(register: Callable[[ImageProvider], None]) -> None:
    """Register the Azure OpenAI provider."""
    register(AzureOpenAIProvider())
