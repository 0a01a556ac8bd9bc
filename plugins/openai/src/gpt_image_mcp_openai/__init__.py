"""OpenAI provider for gpt-image-mcp, and `OpenAICompatibleProvider`, the base other plugins build on."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gpt_image_mcp.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from gpt_image_mcp_openai.compat import ClientConfig, OpenAICompatibleProvider
    from gpt_image_mcp_openai.errors import ErrorContext, QuotaExhaustedError, map_openai_error, mask_secrets
    from gpt_image_mcp_openai.provider import OpenAIProvider
    from gpt_image_mcp_openai.retrying import RetryPolicy
    from gpt_image_mcp_openai.settings import OpenAISettings, RetrySettings

#: Public name -> the submodule defining it. Imported on first access: loading the plugin imports only what
#: registering it needs (a plugin's modules are imported at every server start).
_EXPORTS = {
    "ClientConfig": "compat",
    "OpenAICompatibleProvider": "compat",
    "ErrorContext": "errors",
    "QuotaExhaustedError": "errors",
    "map_openai_error": "errors",
    "mask_secrets": "errors",
    "OpenAIProvider": "provider",
    "RetryPolicy": "retrying",
    "OpenAISettings": "settings",
    "RetrySettings": "settings",
}

__all__ = [
    "ClientConfig",
    "ErrorContext",
    "OpenAICompatibleProvider",
    "OpenAIProvider",
    "OpenAISettings",
    "QuotaExhaustedError",
    "RetryPolicy",
    "RetrySettings",
    "map_openai_error",
    "mask_secrets",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
