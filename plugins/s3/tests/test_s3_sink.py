"""S3Sink against a local moto S3 server: what is stored, where, the presigned URL, and the failures."""

from __future__ import annotations

import time
import urllib.request
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import anyio
import pytest
from gpt_image_mcp.errors import SinkError
from gpt_image_mcp_s3 import sink as sink_module
from gpt_image_mcp_s3.sink import S3Sink

pytestmark = pytest.mark.anyio

FIXED_DAY = datetime(2026, 1, 2, 23, 30, tzinfo=UTC)


def fixed_clock() -> datetime:
    return FIXED_DAY


def query(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def download(url: str) -> tuple[int, str, bytes]:
    """GET the URL as a browser would, with no AWS credentials: status, content type, body."""
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.headers["Content-Type"], response.read()


async def test_save_uploads_bytes_with_content_type_and_returns_locations(
    s3_env, s3_admin, png_image, make_context
) -> None:
    sink = S3Sink(clock=fixed_clock)
    saved = await sink.save(png_image, make_context(image_id="00aa11bb22cc33dd"))

    key = "gpt-image-mcp/2026/01/02/00aa11bb22cc33dd.png"
    assert saved.sink == "s3"
    assert saved.inline is False
    assert saved.uri == f"s3://{s3_env}/{key}"
    stored = s3_admin.get_object(Bucket=s3_env, Key=key)
    assert stored["Body"].read() == png_image.data
    assert stored["ContentType"] == "image/png"
    assert stored["Metadata"] == {"provider": "offline", "model": "gpt-image-2", "sha256": png_image.sha256}
    await sink.aclose()


async def test_presigned_url_downloads_the_same_bytes(aws, s3_env, moto_endpoint, png_image, make_context) -> None:
    sink = S3Sink()
    saved = await sink.save(png_image, make_context())

    assert saved.url is not None
    assert saved.url.startswith(f"{moto_endpoint}/{s3_env}/gpt-image-mcp/")
    params = query(saved.url)
    assert params["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    assert params["X-Amz-Expires"] == "3600"
    assert f"/{aws.region}/s3/" in params["X-Amz-Credential"]
    assert aws.secret_key not in saved.url
    assert await anyio.to_thread.run_sync(download, saved.url) == (200, "image/png", png_image.data)
    await sink.aclose()


async def test_presign_ttl_comes_from_the_setting(s3_env, monkeypatch, png_image, make_context) -> None:
    monkeypatch.setenv("S3_PRESIGN_TTL_SECONDS", "120")
    sink = S3Sink()
    saved = await sink.save(png_image, make_context())

    assert saved.url is not None
    assert query(saved.url)["X-Amz-Expires"] == "120"
    await sink.aclose()


async def test_jpeg_gets_its_extension_and_content_type(s3_env, s3_admin, jpeg_image, make_context) -> None:
    sink = S3Sink(clock=fixed_clock)
    saved = await sink.save(jpeg_image, make_context(image_id="feedface"))

    key = "gpt-image-mcp/2026/01/02/feedface.jpg"
    assert saved.uri == f"s3://{s3_env}/{key}"
    head = s3_admin.head_object(Bucket=s3_env, Key=key)
    assert head["ContentType"] == "image/jpeg"
    assert head["ContentLength"] == len(jpeg_image.data)
    await sink.aclose()


async def test_key_date_is_the_utc_day(s3_env, png_image, make_context) -> None:
    # 00:30 on the 3rd in UTC+2 is still the 2nd in UTC.
    local = datetime(2026, 1, 3, 0, 30, tzinfo=timezone(timedelta(hours=2)))
    sink = S3Sink(clock=lambda: local)
    saved = await sink.save(png_image, make_context(image_id="abc"))

    assert saved.uri == f"s3://{s3_env}/gpt-image-mcp/2026/01/02/abc.png"
    await sink.aclose()


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        ("/../team//renders/./", "team/renders/"),
        ("renders", "renders/"),
        ("../../etc", "etc/"),
        ("", ""),
        ("/", ""),
    ],
)
async def test_prefix_is_sanitised(s3_env, s3_admin, monkeypatch, png_image, make_context, prefix, expected) -> None:
    monkeypatch.setenv("S3_PREFIX", prefix)
    sink = S3Sink(clock=fixed_clock)
    saved = await sink.save(png_image, make_context(image_id="id1"))

    key = f"{expected}2026/01/02/id1.png"
    assert saved.uri == f"s3://{s3_env}/{key}"
    assert s3_admin.get_object(Bucket=s3_env, Key=key)["Body"].read() == png_image.data
    await sink.aclose()


async def test_unsafe_image_id_cannot_escape_the_prefix(s3_env, png_image, make_context) -> None:
    sink = S3Sink(clock=fixed_clock)
    saved = await sink.save(png_image, make_context(image_id="../../x/y"))

    assert saved.uri == f"s3://{s3_env}/gpt-image-mcp/2026/01/02/-..-x-y.png"
    await sink.aclose()


async def test_client_is_created_once_and_reused(s3_env, monkeypatch, png_image, make_context) -> None:
    created = []
    real_create = sink_module.create_client

    def counting_create(settings):
        created.append(settings)
        return real_create(settings)

    monkeypatch.setattr(sink_module, "create_client", counting_create)
    sink = S3Sink()
    results = []

    async def save(index: int) -> None:
        results.append(await sink.save(png_image, make_context(image_id=f"img{index}", index=index)))

    async with anyio.create_task_group() as group:
        for index in range(5):
            group.start_soon(save, index)
    await sink.save(png_image, make_context(image_id="later"))

    assert len(created) == 1
    assert len({saved.uri for saved in results}) == 5
    await sink.aclose()


async def test_aclose_releases_the_client_and_a_later_save_works(s3_env, png_image, make_context) -> None:
    sink = S3Sink()
    await sink.save(png_image, make_context(image_id="before"))
    first_client = sink._client
    assert first_client is not None

    await sink.aclose()
    assert sink._client is None
    await sink.aclose()  # closing twice is harmless

    saved = await sink.save(png_image, make_context(image_id="after"))
    assert saved.uri is not None and saved.uri.endswith("/after.png")
    assert sink._client is not None and sink._client is not first_client
    await sink.aclose()


# -- failures --------------------------------------------------------------------------------------------


async def test_missing_bucket_setting_names_s3_bucket(aws, monkeypatch, png_image, make_context) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", aws.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", aws.secret_key)
    with pytest.raises(SinkError) as caught:
        await S3Sink().save(png_image, make_context())

    assert caught.value.code == "sink_failed"
    assert "S3_BUCKET is not set" in caught.value.message
    assert aws.secret_key not in str(caught.value)


async def test_blank_bucket_setting_counts_as_missing(monkeypatch, png_image, make_context) -> None:
    monkeypatch.setenv("S3_BUCKET", "  ")
    with pytest.raises(SinkError, match="S3_BUCKET is not set"):
        await S3Sink().save(png_image, make_context())


async def test_nonexistent_bucket_is_named(aws, s3_env, monkeypatch, moto_endpoint, png_image, make_context) -> None:
    monkeypatch.setenv("S3_BUCKET", "no-such-bucket-here")
    sink = S3Sink()
    with pytest.raises(SinkError) as caught:
        await sink.save(png_image, make_context())

    message = caught.value.message
    assert "bucket 'no-such-bucket-here' does not exist" in message
    assert moto_endpoint in message
    assert "S3_BUCKET" in message
    assert caught.value.http_status == 404
    assert "Traceback" not in message and "botocore" not in message
    assert aws.secret_key not in message
    await sink.aclose()


async def test_unreachable_endpoint_fails_fast_with_a_clear_message(
    aws, s3_env, monkeypatch, closed_port_url, png_image, make_context
) -> None:
    monkeypatch.setenv("S3_ENDPOINT_URL", closed_port_url)
    sink = S3Sink()
    started = time.monotonic()
    with pytest.raises(SinkError) as caught:
        await sink.save(png_image, make_context())
    elapsed = time.monotonic() - started

    assert elapsed < 5
    message = caught.value.message
    assert message.startswith(f"S3 sink: could not connect to {closed_port_url}")
    assert "S3_ENDPOINT_URL" in message
    assert "Traceback" not in message and "botocore" not in message
    assert aws.secret_key not in message
    await sink.aclose()


async def test_endpoint_that_never_answers_times_out_with_the_timeout_settings_named(
    s3_env, monkeypatch, silent_server_url, png_image, make_context
) -> None:
    monkeypatch.setenv("S3_ENDPOINT_URL", silent_server_url)
    monkeypatch.setenv("S3_READ_TIMEOUT_SECONDS", "0.5")
    sink = S3Sink()
    started = time.monotonic()
    with pytest.raises(SinkError) as caught:
        await sink.save(png_image, make_context())
    elapsed = time.monotonic() - started

    # Two attempts (each: botocore's 1 s wait for "100 Continue", then the 0.5 s read timeout) and a short
    # backoff: the configured timeout and retries are in force, not botocore's 60 s and 5 attempts.
    assert 0.9 <= elapsed < 8
    assert caught.value.message.startswith(f"S3 sink: {silent_server_url} did not answer in time")
    assert "S3_READ_TIMEOUT_SECONDS" in caught.value.message
    await sink.aclose()


async def test_credentials_in_the_endpoint_url_are_never_shown(
    s3_env, monkeypatch, closed_port_url, png_image, make_context
) -> None:
    monkeypatch.setenv("S3_ENDPOINT_URL", closed_port_url.replace("//", "//minio:pw-SECRET-123@"))
    sink = S3Sink()
    with pytest.raises(SinkError) as caught:
        await sink.save(png_image, make_context())

    assert "pw-SECRET-123" not in str(caught.value)
    assert "***@127.0.0.1" in caught.value.message
    await sink.aclose()


async def test_missing_credentials_say_which_variables_to_set(s3_env, monkeypatch, png_image, make_context) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    sink = S3Sink()
    with pytest.raises(SinkError) as caught:
        await sink.save(png_image, make_context())

    assert "no usable AWS credentials" in caught.value.message
    assert "AWS_ACCESS_KEY_ID" in caught.value.message
    assert "AWS_PROFILE" in caught.value.message
    await sink.aclose()


async def test_unknown_profile_is_reported(s3_env, monkeypatch, png_image, make_context) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_PROFILE", "nobody-has-this-profile")
    sink = S3Sink()
    with pytest.raises(SinkError) as caught:
        await sink.save(png_image, make_context())

    assert "nobody-has-this-profile" in caught.value.message
    assert "AWS_PROFILE" in caught.value.message
    await sink.aclose()


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("S3_PRESIGN_TTL_SECONDS", "0", "S3_PRESIGN_TTL_SECONDS: Input should be greater than or equal to 1"),
        ("S3_PRESIGN_TTL_SECONDS", "604801", "S3_PRESIGN_TTL_SECONDS: Input should be less than or equal to"),
        ("S3_ENDPOINT_URL", "localhost:9000", "S3_ENDPOINT_URL: must be an http:// or https:// URL"),
        ("S3_ADDRESSING_STYLE", "sideways", "S3_ADDRESSING_STYLE: Input should be"),
    ],
)
async def test_invalid_settings_name_the_variable(
    s3_env, monkeypatch, png_image, make_context, name, value, expected
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SinkError) as caught:
        await S3Sink().save(png_image, make_context())

    assert caught.value.message.startswith("S3 sink is not configured: ")
    assert expected in caught.value.message
