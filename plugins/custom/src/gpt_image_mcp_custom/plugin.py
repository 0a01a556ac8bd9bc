"""Entry point of the `custom` plugin: registers `CustomProvider` (imports no SDK)."""

from __future__ import annotations

from collections.abc import Callable

from gpt_image_mcp.hookspecs import hookimpl
from gpt_image_mcp.provider import ImageProvider

from gpt_image_mcp_custom.provider import CustomProvider


@hookimpl
def register_providers(register: Callable[[ImageProvider], None]) -> None:
    """Register the custom OpenAI-compatible endpoint provider."""
    register(CustomProvider())
