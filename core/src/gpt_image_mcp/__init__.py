"""gpt-image-mcp: an MCP server for image generation, and the public API for its plugins.

Plugin authors import from here: `hookimpl`, `ImageProvider`, `ImageSink`, the request/result models
and the error taxonomy. Everything else is internal.
"""

from gpt_image_mcp.capabilities import ModelCapabilities, ModelTable, SizeRules
from gpt_image_mcp.errors import (
    AuthenticationError,
    BadUpstreamResponseError,
    CancelledByUserError,
    ConfigurationError,
    ImageMCPError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    RefusedError,
    SinkError,
    UnsupportedOperationError,
    UpstreamTimeoutError,
    UpstreamUnavailableError,
)
from gpt_image_mcp.hookspecs import hookimpl
from gpt_image_mcp.progress import Progress
from gpt_image_mcp.provider import ImageProvider
from gpt_image_mcp.safe_files import read_text_file
from gpt_image_mcp.secrets_mask import mask_secrets, register_secret
from gpt_image_mcp.sink import ImageSink, SaveContext, SavedImage
from gpt_image_mcp.types import (
    CheckResult,
    EditRequest,
    GeneratedImage,
    GenerateRequest,
    ImageOptions,
    ImageResult,
    InputImage,
    Operation,
    Usage,
    ValidationReport,
    VariationRequest,
)

__version__ = "0.1.0"

__all__ = [
    "AuthenticationError",
    "BadUpstreamResponseError",
    "CancelledByUserError",
    "CheckResult",
    "ConfigurationError",
    "EditRequest",
    "GenerateRequest",
    "GeneratedImage",
    "ImageMCPError",
    "ImageOptions",
    "ImageProvider",
    "ImageResult",
    "ImageSink",
    "InputImage",
    "InvalidRequestError",
    "ModelCapabilities",
    "ModelTable",
    "NotFoundError",
    "Operation",
    "PermissionDeniedError",
    "Progress",
    "RateLimitedError",
    "RefusedError",
    "SaveContext",
    "SavedImage",
    "SinkError",
    "SizeRules",
    "UnsupportedOperationError",
    "UpstreamTimeoutError",
    "UpstreamUnavailableError",
    "Usage",
    "ValidationReport",
    "VariationRequest",
    "__version__",
    "hookimpl",
    "mask_secrets",
    "read_text_file",
    "register_secret",
]
