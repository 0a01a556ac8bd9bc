"""S3 output sink for gpt-image-mcp. Importing this module does not import boto3."""

from __future__ import annotations

from collections.abc import Callable

from gpt_image_mcp.hookspecs import hookimpl
from gpt_image_mcp.sink import ImageSink

from gpt_image_mcp_s3.settings import S3Settings
from gpt_image_mcp_s3.sink import S3Sink

__all__ = ["S3Settings", "S3Sink", "register_sinks"]


@hookimpl
def register_sinks(register: Callable[[ImageSink], None]) -> None:
    """Register the `s3` sink."""
    register(S3Sink())
