"""OpenAI provider for gpt-image-mcp, and `OpenAICompatibleProvider`, the base other plugins build on."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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
