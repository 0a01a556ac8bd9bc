"""OpenAI provider for gpt-image-mcp, and `OpenAICompatibleProvider`, the base other plugins build on."""

from gpt_image_mcp_openai.compat import ClientConfig, OpenAICompatibleProvider
from gpt_image_mcp_openai.errors import ErrorContext, QuotaExhaustedError, map_openai_error, mask_secrets
from gpt_image_mcp_openai.provider import OpenAIProvider
from gpt_image_mcp_openai.retrying import RetryPolicy
from gpt_image_mcp_openai.settings import OpenAISettings, RetrySettings

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
