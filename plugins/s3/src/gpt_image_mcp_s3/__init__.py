"""S3 output sink for gpt-image-mcp. Importing this module does not import boto3 (nor read the settings)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gpt_image_mcp.hookspecs import hookimpl
from gpt_image_mcp.sink import ImageSink

from gpt_image_mcp_s3.sink import S3Sink

if TYPE_CHECKING:
    from gpt_image_mcp_s3.settings import S3Settings

__all__ = ["S3Settings", "S3Sink", "register_sinks"]


@hookimpl
def register_sinks(register: Callable[[ImageSink], None]) -> None:
    """Register the `s3` sink."""
    register(S3Sink())


def __getattr__(name: str) -> Any:
    """`S3Settings` is imported on first access: the module is the plugin's entry point, imported at every start."""
    if name == "S3Settings":
        from gpt_image_mcp_s3.settings import S3Settings

        globals()[name] = S3Settings
        return S3Settings
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
