"""Entry point of the `openai` plugin: registers `OpenAIProvider`. Importing it does not import `openai`."""

from __future__ import annotations

from collections.abc import Callable

from gpt_image_mcp.hookspecs import hookimpl
from gpt_image_mcp.provider import ImageProvider

from gpt_image_mcp_openai.provider import OpenAIProvider


@hookimpl
def register_providers(register: Callable[[ImageProvider], None]) -> None:
    register(OpenAIProvider())
