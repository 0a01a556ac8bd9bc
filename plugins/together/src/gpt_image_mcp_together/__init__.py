"""Together AI provider for gpt-image-mcp: FLUX models through Together's image API."""

from gpt_image_mcp_together.provider import MODEL_TABLE, TogetherProvider
from gpt_image_mcp_together.settings import TogetherSettings

__all__ = ["MODEL_TABLE", "TogetherProvider", "TogetherSettings"]
