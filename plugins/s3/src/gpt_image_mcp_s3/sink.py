"""`S3Sink`: uploads each image to S3 (or an S3-compatible store) and returns a presigned download URL."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import anyio.to_thread
from gpt_image_mcp.errors import SinkError
from gpt_image_mcp.sink import ImageSink, SaveContext, SavedImage
from gpt_image_mcp.types import GeneratedImage
from pydantic import ValidationError

from gpt_image_mcp_s3.errors import to_sink_error

if TYPE_CHECKING:
    from botocore.client import BaseClient

    from gpt_image_mcp_s3.settings import S3Settings

UNSAFE_KEY_CHARACTERS = re.compile(r"[^A-Za-z0-9._-]")


def utc_now() -> datetime:
    return datetime.now(UTC)


class S3Sink(ImageSink):
    """Uploads images to `s3://S3_BUCKET/S3_PREFIX/YYYY/MM/DD/<image id>.<ext>`.

    Settings are read and boto3 is imported on the first save, so registering the sink costs nothing and
    a server that never uses it needs neither the configuration nor boto3's import time.
    """

    name = "s3"
    description = "Uploads images to Amazon S3 or an S3-compatible store and returns presigned download URLs."

    def __init__(self, *, clock: Callable[[], datetime] = utc_now) -> None:
        self._clock = clock
        self._settings: S3Settings | None = None
        self._client: BaseClient | None = None
        # Saves run in worker threads: the first ones must not build two clients.
        self._lock = threading.Lock()

    @property
    def settings(self) -> S3Settings:
        """The sink's settings, read from the environment once. Raises `SinkError` when they are invalid."""
        if self._settings is None:
            from gpt_image_mcp_s3.settings import S3Settings, describe_validation_error

            try:
                self._settings = S3Settings()  # type: ignore[call-arg]  # bucket comes from S3_BUCKET
            except ValidationError as exc:
                problems = "; ".join(describe_validation_error(exc))
                raise SinkError(
                    f"S3 sink is not configured: {problems}. Set S3_BUCKET to an existing bucket "
                    "(and S3_REGION or S3_ENDPOINT_URL where needed); see docs/sinks-s3.md"
                ) from None
        return self._settings

    def configuration_problems(self) -> list[str]:
        try:
            self.settings  # noqa: B018 - reading validates the S3_* variables
        except SinkError as exc:
            return [exc.message]
        return []

    def object_key(self, image: GeneratedImage, context: SaveContext) -> str:
        """`{prefix}{YYYY}/{MM}/{DD}/{image id}.{extension}`, dated in UTC."""
        day = self._clock().astimezone(UTC)
        image_id = UNSAFE_KEY_CHARACTERS.sub("-", context.image_id).strip(".") or "image"
        return f"{self.settings.prefix}{day:%Y/%m/%d}/{image_id}.{image.extension}"

    async def save(self, image: GeneratedImage, context: SaveContext) -> SavedImage:
        """Upload the image; return its `s3://` URI and a presigned HTTPS GET URL."""
        settings = self.settings
        key = self.object_key(image, context)
        metadata = {"provider": context.provider, "model": context.model, "sha256": image.sha256}
        url = await anyio.to_thread.run_sync(self._upload, settings, key, image, _ascii_values(metadata))
        return SavedImage(sink=self.name, uri=f"s3://{settings.bucket}/{key}", url=url)

    async def aclose(self) -> None:
        """Close the client's connection pool; a later save creates a new client."""
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    def _upload(self, settings: S3Settings, key: str, image: GeneratedImage, metadata: dict[str, str]) -> str:
        try:
            client = self._get_client(settings)
            client.put_object(
                Bucket=settings.bucket, Key=key, Body=image.data, ContentType=image.mime_type, Metadata=metadata
            )
            return client.generate_presigned_url(
                "get_object",
                Params={"Bucket": settings.bucket, "Key": key},
                ExpiresIn=settings.presign_ttl_seconds,
            )
        except Exception as exc:
            raise to_sink_error(exc, settings, key) from exc

    def _get_client(self, settings: S3Settings) -> BaseClient:
        with self._lock:
            if self._client is None:
                self._client = create_client(settings)
            return self._client


def create_client(settings: S3Settings) -> BaseClient:
    """A boto3 S3 client with short timeouts and few retries: a dead endpoint fails in seconds."""
    import boto3
    from botocore.config import Config

    options: dict[str, Any] = {
        "connect_timeout": settings.connect_timeout_seconds,
        "read_timeout": settings.read_timeout_seconds,
        "retries": {"mode": "standard", "total_max_attempts": settings.max_attempts},
        "signature_version": "s3v4",
        "s3": {"addressing_style": settings.effective_addressing_style},
    }
    if settings.endpoint_url:
        # Many S3-compatible stores reject the CRC checksum headers botocore now adds by default.
        options |= {"request_checksum_calculation": "when_required", "response_checksum_validation": "when_required"}
    session = boto3.session.Session()
    return session.client(
        "s3", region_name=settings.region, endpoint_url=settings.endpoint_url, config=Config(**options)
    )


def _ascii_values(metadata: dict[str, str]) -> dict[str, str]:
    # S3 user metadata travels in HTTP headers, which must be ASCII.
    return {key: value.encode("ascii", "replace").decode("ascii") for key, value in metadata.items()}
