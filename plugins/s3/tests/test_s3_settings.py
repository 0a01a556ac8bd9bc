"""S3 settings from the environment, the boto3 client configuration, and the error translation table."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError
from gpt_image_mcp_s3.errors import to_sink_error
from gpt_image_mcp_s3.settings import S3Settings, mask_url, sanitise_prefix
from gpt_image_mcp_s3.sink import create_client


def test_defaults(monkeypatch) -> None:
    monkeypatch.setenv("S3_BUCKET", "images")
    settings = S3Settings()

    assert settings.bucket == "images"
    assert settings.prefix == "gpt-image-mcp/"
    assert settings.region is None
    assert settings.endpoint_url is None
    assert settings.presign_ttl_seconds == 3600
    assert settings.effective_addressing_style == "auto"


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({"AWS_DEFAULT_REGION": "us-west-2"}, "us-west-2"),
        ({"AWS_DEFAULT_REGION": "us-west-2", "AWS_REGION": "eu-central-1"}, "eu-central-1"),
        ({"AWS_DEFAULT_REGION": "us-west-2", "AWS_REGION": "eu-central-1", "S3_REGION": "ap-south-1"}, "ap-south-1"),
    ],
)
def test_region_falls_back_to_aws_variables(monkeypatch, variables, expected) -> None:
    monkeypatch.setenv("S3_BUCKET", "images")
    for name, value in variables.items():
        monkeypatch.setenv(name, value)

    assert S3Settings().region == expected


def test_stray_generic_variables_are_not_read(monkeypatch) -> None:
    monkeypatch.setenv("S3_BUCKET", "images")
    monkeypatch.setenv("BUCKET", "other")
    monkeypatch.setenv("REGION", "xx-nowhere-1")
    monkeypatch.setenv("PREFIX", "elsewhere/")

    settings = S3Settings()
    assert (settings.bucket, settings.region, settings.prefix) == ("images", None, "gpt-image-mcp/")


def test_blank_endpoint_means_unset_and_endpoint_selects_path_style(monkeypatch) -> None:
    monkeypatch.setenv("S3_BUCKET", "images")
    monkeypatch.setenv("S3_ENDPOINT_URL", "")
    assert S3Settings().endpoint_url is None

    monkeypatch.setenv("S3_ENDPOINT_URL", "https://minio.example.test:9000/")
    settings = S3Settings()
    assert settings.endpoint_url == "https://minio.example.test:9000"
    assert settings.effective_addressing_style == "path"

    monkeypatch.setenv("S3_ADDRESSING_STYLE", "virtual")
    assert S3Settings().effective_addressing_style == "virtual"


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("gpt-image-mcp/", "gpt-image-mcp/"),
        ("a/b", "a/b/"),
        ("/a//b/", "a/b/"),
        ("../a/../b/./c", "a/b/c/"),
        ("..\\..\\win", "win/"),
        ("", ""),
        ("/../", ""),
    ],
)
def test_sanitise_prefix(raw, clean) -> None:
    assert sanitise_prefix(raw) == clean


def test_mask_url() -> None:
    assert mask_url("http://user:secret@host:9000/path") == "http://***@host:9000/path"
    assert mask_url("https://s3.example.test") == "https://s3.example.test"


def test_client_has_short_timeouts_few_retries_and_the_endpoint(monkeypatch) -> None:
    monkeypatch.setenv("S3_BUCKET", "images")
    monkeypatch.setenv("S3_REGION", "eu-west-3")
    monkeypatch.setenv("S3_ENDPOINT_URL", "http://127.0.0.1:9000")
    client = create_client(S3Settings())
    try:
        config = client.meta.config
        assert config.connect_timeout == 3
        assert config.read_timeout == 30
        assert config.retries == {"mode": "standard", "total_max_attempts": 2}
        assert config.s3 == {"addressing_style": "path"}
        assert config.signature_version == "s3v4"
        assert config.request_checksum_calculation == "when_required"
        assert client.meta.region_name == "eu-west-3"
        assert client.meta.endpoint_url == "http://127.0.0.1:9000"
    finally:
        client.close()


def test_client_for_amazon_s3_keeps_default_checksums(monkeypatch) -> None:
    monkeypatch.setenv("S3_BUCKET", "images")
    monkeypatch.setenv("AWS_REGION", "eu-north-1")
    monkeypatch.setenv("S3_CONNECT_TIMEOUT_SECONDS", "1.5")
    monkeypatch.setenv("S3_MAX_ATTEMPTS", "4")
    client = create_client(S3Settings())
    try:
        config = client.meta.config
        assert config.connect_timeout == 1.5
        assert config.retries["total_max_attempts"] == 4
        assert config.request_checksum_calculation == "when_supported"
        assert client.meta.endpoint_url == "https://s3.eu-north-1.amazonaws.com"
    finally:
        client.close()


def client_error(code: str, status: int, message: str = "upstream message") -> ClientError:
    response = {
        "Error": {"Code": code, "Message": message, "AWSAccessKeyId": "AKIASHOULDNOTAPPEAR"},
        "ResponseMetadata": {"HTTPStatusCode": status, "RequestId": "req-123"},
    }
    return ClientError(response, "PutObject")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("InvalidAccessKeyId", 403, "rejected the AWS credentials (InvalidAccessKeyId); check AWS_ACCESS_KEY_ID"),
        ("SignatureDoesNotMatch", 403, "rejected the AWS credentials (SignatureDoesNotMatch)"),
        ("ExpiredToken", 400, "check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN"),
        ("AccessDenied", 403, "access denied writing s3://images/k.png (AccessDenied); the credentials need"),
        ("NoSuchBucket", 404, "bucket 'images' does not exist"),
        ("InvalidBucketName", 400, "'images' is not a valid bucket name; fix S3_BUCKET"),
        ("PermanentRedirect", 301, "is in another region; set S3_REGION"),
        ("SlowDown", 503, "is unavailable (SlowDown: upstream message); try again later"),
        ("EntityTooLarge", 400, "refused the upload to s3://images/k.png (EntityTooLarge: upstream message)"),
    ],
)
def test_client_errors_map_to_actionable_sink_errors(monkeypatch, code, status, expected) -> None:
    monkeypatch.setenv("S3_BUCKET", "images")
    error = to_sink_error(client_error(code, status), S3Settings(), "k.png")

    assert error.code == "sink_failed"
    assert expected in error.message
    assert error.http_status == status
    assert error.request_id == "req-123"
    assert "AKIASHOULDNOTAPPEAR" not in error.message
    assert "PutObject operation" not in error.message


def test_timeouts_name_the_timeout_settings(monkeypatch) -> None:
    monkeypatch.setenv("S3_BUCKET", "images")
    monkeypatch.setenv("S3_ENDPOINT_URL", "http://key:secret@10.0.0.1:9000")
    error = to_sink_error(ReadTimeoutError(endpoint_url="http://key:secret@10.0.0.1:9000/x"), S3Settings(), "k")

    assert "http://***@10.0.0.1:9000 did not answer in time" in error.message
    assert "S3_READ_TIMEOUT_SECONDS" in error.message
    assert "secret" not in error.message


def test_configuration_problems_name_the_missing_bucket(monkeypatch) -> None:
    from gpt_image_mcp_s3.sink import S3Sink

    monkeypatch.delenv("S3_BUCKET", raising=False)
    problems = S3Sink().configuration_problems()
    assert len(problems) == 1 and "S3_BUCKET" in problems[0]
    monkeypatch.setenv("S3_BUCKET", "images")
    assert S3Sink().configuration_problems() == []
