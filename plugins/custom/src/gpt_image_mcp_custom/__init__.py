"""Custom OpenAI-compatible endpoint provider for gpt-image-mcp, with per-server compatibility switches."""

from gpt_image_mcp_custom.fetch import FetchPolicy, FetchRefused, fetch_image
from gpt_image_mcp_custom.provider import CustomProvider
from gpt_image_mcp_custom.settings import CustomSettings

__all__ = ["CustomProvider", "CustomSettings", "FetchPolicy", "FetchRefused", "fetch_image"]
