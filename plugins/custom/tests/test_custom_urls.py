"""Servers that answer with a URL instead of bytes: refused by default, downloaded only when allowed, only from
allowed hosts, only http(s), never beyond the size cap or the time limit."""

from __future__ import annotations

import time

import pytest
from gpt_image_mcp.errors import BadUpstreamResponseError
from gpt_image_mcp.types import GenerateRequest
from werkzeug import Response

pytestmark = pytest.mark.anyio

PATH = "/v1/images/generations"
REQUEST = GenerateRequest(model="sdxl", prompt="a cat")


def url_answer(*urls: str) -> dict:
    return {"created": 1_790_000_000, "data": [{"url": url} for url in urls]}


def downloads(server) -> list[str]:
    return [request.path for request, _ in server.log if request.path.startswith("/files/")]


async def test_url_only_answer_is_refused_by_default(custom, provider, progress, images) -> None:
    custom.expect_request("/files/cat.png").respond_with_data(images.png(), content_type="image/png")
    custom.expect_request(PATH).respond_with_json(url_answer(custom.url_for("/files/cat.png")))

    with pytest.raises(BadUpstreamResponseError) as info:
        await provider.generate(REQUEST, progress)

    message = info.value.message
    assert "returned image 1 as a URL" in message
    assert "the server ignored response_format=b64_json" in message
    assert "CUSTOM_OPENAI_FETCH_URLS=true" in message
    assert "CUSTOM_OPENAI_FETCH_HOSTS" in message
    assert downloads(custom) == []
    assert len(custom.log) == 1  # not retried: generating again would cost money for the same answer


async def test_without_response_format_the_hint_says_to_ask_for_data(custom, monkeypatch, provider, progress):
    monkeypatch.setenv("CUSTOM_OPENAI_RESPONSE_FORMAT", "none")
    custom.expect_request(PATH).respond_with_json(url_answer(custom.url_for("/files/cat.png")))

    with pytest.raises(BadUpstreamResponseError, match="set CUSTOM_OPENAI_RESPONSE_FORMAT=b64_json"):
        await provider.generate(REQUEST, progress)


async def test_allowed_download_from_the_base_url_host(custom, monkeypatch, provider, progress, images) -> None:
    monkeypatch.setenv("CUSTOM_OPENAI_FETCH_URLS", "true")
    first, second = images.png((40, 30)), images.png((30, 40), (0, 0, 255))
    custom.expect_request("/files/1.png").respond_with_data(first, content_type="image/png")
    custom.expect_request("/files/2.png").respond_with_data(second, content_type="image/png")
    custom.expect_request(PATH).respond_with_json(
        url_answer(custom.url_for("/files/1.png"), custom.url_for("/files/2.png"))
    )

    result = await provider.generate(REQUEST.model_copy(update={"n": 2}), progress)

    assert [image.data for image in result.images] == [first, second]
    assert [(image.width, image.height) for image in result.images] == [(40, 30), (30, 40)]
    assert downloads(custom) == ["/files/1.png", "/files/2.png"]
    assert all("Authorization" not in request.headers for request, _ in custom.log)


async def test_download_from_another_host_is_refused(custom, monkeypatch, provider, progress, images) -> None:
    monkeypatch.setenv("CUSTOM_OPENAI_FETCH_URLS", "true")
    custom.expect_request("/files/cat.png").respond_with_data(images.png(), content_type="image/png")
    other_host = f"http://localhost:{custom.port}/files/cat.png"  # same fake, but a host name not allowed
    custom.expect_request(PATH).respond_with_json(url_answer(other_host))

    with pytest.raises(BadUpstreamResponseError, match=r"host localhost is not allowed to serve images"):
        await provider.generate(REQUEST, progress)

    assert downloads(custom) == []


async def test_fetch_hosts_allow_another_host(custom, monkeypatch, provider, progress, images) -> None:
    monkeypatch.setenv("CUSTOM_OPENAI_FETCH_URLS", "true")
    monkeypatch.setenv("CUSTOM_OPENAI_FETCH_HOSTS", "cdn.example.invalid, localhost")
    picture = images.png()
    custom.expect_request("/files/cat.png").respond_with_data(picture, content_type="image/png")
    custom.expect_request(PATH).respond_with_json(url_answer(f"http://localhost:{custom.port}/files/cat.png"))

    result = await provider.generate(REQUEST, progress)

    assert result.images[0].data == picture


async def test_redirect_to_a_disallowed_host_is_refused(custom, monkeypatch, provider, progress, images) -> None:
    monkeypatch.setenv("CUSTOM_OPENAI_FETCH_URLS", "true")
    custom.expect_request("/files/redirect").respond_with_response(
        Response(status=302, headers={"Location": f"http://localhost:{custom.port}/files/cat.png"})
    )
    custom.expect_request("/files/cat.png").respond_with_data(images.png(), content_type="image/png")
    custom.expect_request(PATH).respond_with_json(url_answer(custom.url_for("/files/redirect")))

    with pytest.raises(BadUpstreamResponseError, match=r"host localhost is not allowed"):
        await provider.generate(REQUEST, progress)

    assert downloads(custom) == ["/files/redirect"]


@pytest.mark.parametrize("url", ["ftp://localhost/cat.png", "file:///etc/passwd"])
async def test_only_http_urls_are_downloaded(custom, monkeypatch, provider, progress, url) -> None:
    monkeypatch.setenv("CUSTOM_OPENAI_FETCH_URLS", "true")
    custom.expect_request(PATH).respond_with_json(url_answer(url))

    with pytest.raises(BadUpstreamResponseError, match="only http and https image URLs are downloaded"):
        await provider.generate(REQUEST, progress)


async def test_too_large_by_content_length(custom, monkeypatch, provider, progress, images) -> None:
    monkeypatch.setenv("CUSTOM_OPENAI_FETCH_URLS", "true")
    monkeypatch.setenv("CUSTOM_OPENAI_FETCH_MAX_BYTES", "2048")
    big = images.png((256, 256), (1, 2, 3)) + b"\0" * 4096
    custom.expect_request("/files/big.png").respond_with_data(big, content_type="image/png")
    custom.expect_request(PATH).respond_with_json(url_answer(custom.url_for("/files/big.png")))

    with pytest.raises(BadUpstreamResponseError, match="larger than 2,048 bytes"):
        await provider.generate(REQUEST, progress)


async def test_too_large_while_streaming_without_a_length(custom, monkeypatch, provider, progress) -> None:
    monkeypatch.setenv("CUSTOM_OPENAI_FETCH_URLS", "true")
    monkeypatch.setenv("CUSTOM_OPENAI_FETCH_MAX_BYTES", "4096")
    sent: list[int] = []

    def endless() -> object:
        for _ in range(64):  # bounded: 64 KiB at most
            sent.append(1024)
            yield b"\x89PNG" + b"\0" * 1020

    custom.expect_request("/files/stream.png").respond_with_handler(
        lambda request: Response(endless(), content_type="image/png")
    )
    custom.expect_request(PATH).respond_with_json(url_answer(custom.url_for("/files/stream.png")))

    with pytest.raises(BadUpstreamResponseError, match="larger than 4,096 bytes"):
        await provider.generate(REQUEST, progress)


async def test_slow_download_is_time_limited(custom, monkeypatch, provider, progress, images) -> None:
    monkeypatch.setenv("CUSTOM_OPENAI_FETCH_URLS", "true")
    monkeypatch.setenv("CUSTOM_OPENAI_FETCH_TIMEOUT", "0.3")

    def slow(request: object) -> Response:
        time.sleep(1.0)
        return Response(images.png(), content_type="image/png")

    custom.expect_request("/files/slow.png").respond_with_handler(slow)
    custom.expect_request(PATH).respond_with_json(url_answer(custom.url_for("/files/slow.png")))
    started = time.monotonic()

    with pytest.raises(BadUpstreamResponseError, match=r"did not finish within 0.3 s \(CUSTOM_OPENAI_FETCH_TIMEOUT\)"):
        await provider.generate(REQUEST, progress)

    assert time.monotonic() - started < 1.0


async def test_data_urls_need_no_download(custom, provider, progress, images) -> None:
    picture = images.png((20, 10))
    custom.expect_request(PATH).respond_with_json(url_answer("data:image/png;base64," + images.b64(picture)))

    result = await provider.generate(REQUEST, progress)

    assert result.images[0].data == picture


async def test_a_download_that_is_not_an_image_is_refused(custom, monkeypatch, provider, progress) -> None:
    monkeypatch.setenv("CUSTOM_OPENAI_FETCH_URLS", "true")
    custom.expect_request("/files/cat.png").respond_with_data(b"<html>login</html>", content_type="text/html")
    custom.expect_request(PATH).respond_with_json(url_answer(custom.url_for("/files/cat.png")))

    with pytest.raises(BadUpstreamResponseError):
        await provider.generate(REQUEST, progress)


async def test_download_http_errors_are_reported(custom, monkeypatch, provider, progress) -> None:
    monkeypatch.setenv("CUSTOM_OPENAI_FETCH_URLS", "true")
    custom.expect_request("/files/gone.png").respond_with_data(b"", status=404)
    custom.expect_request(PATH).respond_with_json(url_answer(custom.url_for("/files/gone.png")))

    with pytest.raises(BadUpstreamResponseError, match="failed with HTTP 404"):
        await provider.generate(REQUEST, progress)
