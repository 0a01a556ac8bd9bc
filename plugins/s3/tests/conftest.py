"""Fixtures for the S3 sink tests: a clean environment and a local moto S3 server on 127.0.0.1."""

from __future__ import annotations

import io
import os
import socket
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from gpt_image_mcp.sink import SaveContext
from gpt_image_mcp.types import GeneratedImage
from moto.server import ThreadedMotoServer
from PIL import Image

ACCESS_KEY = "AKIATESTS3SINK000001"
SECRET_KEY = "s3-sink-test-SECRET-do-not-print-0123456789"
REGION = "eu-west-1"
SETTING_PREFIXES = (
    "S3_", "AWS_", "BOTO_", "IMAGE_STORE", "WORKSPACE_", "DEFAULT_SINKS", "PROVIDER", "OPENAI_", "AZURE_",
    "TOGETHER_", "CUSTOM_OPENAI_", "MCP_", "GPT_IMAGE_MCP_", "DEFAULT_MODEL", "PORT", "HOST", "LOG_", "USE_",
    "MAX_", "MODEL_CAPABILITIES_FILE", "OUTPUT_DIR",
)  # fmt: skip


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No S3_*/AWS_* setting, AWS profile file or .env of the developer's machine leaks into a test."""
    for name in list(os.environ):
        if name.upper().startswith(SETTING_PREFIXES):
            monkeypatch.delenv(name, raising=False)
    # The credential chain must not find ~/.aws files or ask an instance metadata service.
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    # Core keeps every image in its store and may write files: both stay inside the test's folder.
    monkeypatch.setenv("IMAGE_STORE_DIR", str(tmp_path / "store"))
    monkeypatch.setenv("OUTPUT_DIR", str(tmp_path / "output"))
    monkeypatch.chdir(tmp_path)
    yield


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def aws() -> Any:
    """The dummy credentials and region the tests use: `aws.access_key`, `aws.secret_key`, `aws.region`."""

    class Aws:
        access_key = ACCESS_KEY
        secret_key = SECRET_KEY
        region = REGION

    return Aws


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """URL of a moto S3 server running in a thread of the test process for the whole session."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_admin(moto_endpoint: str) -> Any:
    """A plain boto3 client on the moto server, for setting up buckets and checking what was stored."""
    return boto3.client(
        "s3",
        endpoint_url=moto_endpoint,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )


@pytest.fixture
def bucket(s3_admin: Any) -> str:
    """A fresh, empty bucket (moto keeps state for the session, so each test gets its own)."""
    name = f"images-{uuid.uuid4().hex[:12]}"
    s3_admin.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    return name


@pytest.fixture
def s3_env(monkeypatch: pytest.MonkeyPatch, moto_endpoint: str, bucket: str) -> str:
    """Dummy credentials and S3_* settings pointing at the moto server. Returns the bucket name."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("S3_BUCKET", bucket)
    monkeypatch.setenv("S3_REGION", REGION)
    monkeypatch.setenv("S3_ENDPOINT_URL", moto_endpoint)
    return bucket


@pytest.fixture
def closed_port_url() -> str:
    """An http URL on 127.0.0.1 where nothing listens: connections are refused at once."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def silent_server_url() -> Iterator[str]:
    """An http URL on 127.0.0.1 that accepts connections (in the kernel's backlog) but never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


def png_bytes(size: tuple[int, int] = (24, 16), colour: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def jpeg_bytes(size: tuple[int, int] = (24, 16)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(buffer, format="JPEG")
    return buffer.getvalue()


@pytest.fixture
def png_image() -> GeneratedImage:
    return GeneratedImage.from_bytes(png_bytes())


@pytest.fixture
def jpeg_image() -> GeneratedImage:
    return GeneratedImage.from_bytes(jpeg_bytes())


@pytest.fixture
def make_context() -> Callable[..., SaveContext]:
    def factory(image_id: str = "0123456789abcdef", **fields: Any) -> SaveContext:
        values: dict[str, Any] = {"provider": "offline", "model": "gpt-image-2", "prompt": "a red square"}
        return SaveContext(image_id=image_id, **(values | fields))

    return factory
