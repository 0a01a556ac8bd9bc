"""Entry point of the `together` plugin: registers `TogetherProvider` (imports no SDK)."""

from __future__ import annotations

from collections.abc import Callable

from gpt_image_mcp.hookspecs import hookimpl
from gpt_image_mcp.provider import ImageProvider

from gpt_image_mcp_together.provider import TogetherProvider


@hookimpl
def register_providers(register: Callable[[ImageProvider], None]) -> None:
    """Register the Together AI provider."""
    register(TogetherProvider())
