"""Progress reporting from providers back to whoever waits (an MCP client, the CLI)."""

from __future__ import annotations

from gpt_image_mcp.types import GeneratedImage


class Progress:
    """Receives progress from a provider. The base class ignores everything (used in tests and batch)."""

    async def stage(self, message: str) -> None:
        """A human-readable step: 'waiting for openai', 'decoding images'."""

    async def partial_image(self, image: GeneratedImage, index: int) -> None:
        """A partial (preview) image arrived while streaming."""
