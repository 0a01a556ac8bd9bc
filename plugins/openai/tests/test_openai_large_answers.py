"""Plain answers are read in chunks: large images, bodies cut short, stalls, escaped slashes, error statuses."""

from __future__ import annotations

import gzip
import io
import json
import os
import socket
import threading
import time
from collections.abc import AsyncIterable, Callable, Iterator
from typing import Any

import anyio
import pytest
from gpt_image_mcp.errors import (
    BadUpstreamResponseError,
    InvalidRequestError,
    RefusedError,
    UpstreamTimeoutError,
    UpstreamUnavailableError,
)
from gpt_image_mcp.types import GenerateRequest
from gpt_image_mcp_openai import OpenAIProvider, compat
from PIL import Image
from werkzeug import Request, Response

pytestmark = pytest.mark.anyio

PATH = "/v1/images/generations"
PROMPT_WITH_TRAPS = 'a sign that reads "b64_json": "QUJD" \\ / \u00e9'


def request() -> GenerateRequest:
    return GenerateRequest(model="gpt-image-2", prompt="a lighthouse")


@pytest.fixture(scope="module")
def noise_png() -> bytes:
    """A PNG that does not compress (random pixels): about 1.2 MB, some 1.6 MB as base64."""
    image = Image.frombytes("RGB", (640, 640), os.urandom(640 * 640 * 3))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


@pytest.fixture
def chunks_seen(monkeypatch) -> list[int]:
    """Sizes of the chunks the provider's JSON reader is handed (it must never get the body whole)."""
    sizes: list[int] = []
    real = compat.read_json

    async def counting(chunks: AsyncIterable[bytes]) -> Any:
        async def counted() -> Any:
            async for chunk in chunks:
                sizes.append(len(chunk))
                yield chunk

        return await real(counted())

    monkeypatch.setattr(compat, "read_json", counting)
    return sizes


def pieces(body: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


# -- a raw upstream, for what werkzeug cannot send ------------------------------------------------------------


class RawUpstream:
    """An HTTP/1.1 server on a bare socket that answers every request with `script(upstream, connection)`."""

    def __init__(self, script: Callable[[RawUpstream, socket.socket], None]) -> None:
        self.script = script
        self.requests = 0
        self.client_closed = threading.Event()
        self._socket = socket.create_server(("127.0.0.1", 0))
        self._socket.settimeout(0.05)  # so `close` is seen soon: closing does not wake a blocked accept()
        self._stopped = threading.Event()
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}/v1"
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stopped.is_set():
            try:
                connection, _ = self._socket.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with connection:
                connection.settimeout(10)
                head = b""
                while b"\r\n\r\n" not in head:
                    head += connection.recv(65536)
                header, _, body = head.partition(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in header.split(b"\r\n")
                        if line.lower().startswith(b"content-length")
                    ),
                    0,
                )
                while len(body) < length:
                    body += connection.recv(65536)
                self.requests += 1
                self.script(self, connection)

    def wait_for_close(self, connection: socket.socket) -> None:
        """Block until the client closes the connection (or 10 s pass)."""
        try:
            while connection.recv(65536):
                pass
        except OSError:
            return
        self.client_closed.set()

    def close(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=10)
        self._socket.close()


@pytest.fixture
def raw_upstream(monkeypatch, api_key) -> Iterator[Callable[..., RawUpstream]]:
    started: list[RawUpstream] = []

    def start(script: Callable[[RawUpstream, socket.socket], None]) -> RawUpstream:
        upstream = RawUpstream(script)
        started.append(upstream)
        monkeypatch.setenv("OPENAI_API_KEY", api_key)
        monkeypatch.setenv("OPENAI_BASE_URL", upstream.url)
        monkeypatch.setenv("RETRY_BACKOFF_BASE", "0.001")
        return upstream

    yield start
    for upstream in started:
        upstream.close()


def head(length: int, request_id: str = "req_raw") -> bytes:
    return (
        f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n"
        f"x-request-id: {request_id}\r\n\r\n"
    ).encode()


# -- tests -------------------------------------------------------------------------------------------------


async def test_a_large_image_in_many_chunks(
    openai_env, provider, progress, response_body, usage_body, noise_png, chunks_seen
) -> None:
    body = response_body(noise_png, usage=usage_body, output_format="png")
    body["data"][0]["revised_prompt"] = PROMPT_WITH_TRAPS
    encoded = json.dumps(body).encode()
    openai_env.expect_request(PATH).respond_with_response(
        Response(pieces(encoded, 4093), content_type="application/json", headers={"x-request-id": "req_big"})
    )

    result = await provider.generate(request(), progress)

    image = result.images[0]
    assert image.data == noise_png
    assert (image.width, image.height, image.mime_type) == (640, 640, "image/png")
    assert image.revised_prompt == PROMPT_WITH_TRAPS
    assert result.request_id == "req_big"
    assert result.usage is not None and result.usage.total_tokens == usage_body["total_tokens"]
    assert len(chunks_seen) > 10 and max(chunks_seen) < len(encoded) // 4
    assert sum(chunks_seen) == len(encoded)


async def test_several_images_and_a_gzip_encoded_body(openai_env, provider, progress, response_body, images) -> None:
    pictures = [images.png((20, 10)), images.jpeg((30, 40)), images.png((5, 5))]
    openai_env.expect_request(PATH).respond_with_data(
        gzip.compress(json.dumps(response_body(*pictures)).encode()),
        content_type="application/json",
        headers={"Content-Encoding": "gzip"},
    )

    result = await provider.generate(GenerateRequest(model="gpt-image-2", prompt="p", n=3), progress)

    assert [image.data for image in result.images] == pictures


async def test_escaped_slashes_wrapped_lines_and_a_data_url(openai_env, provider, progress, noise_png) -> None:
    import base64

    text = "data:image/png;base64," + base64.encodebytes(noise_png).decode()  # a newline every 76 characters
    encoded = json.dumps({"created": 1, "data": [{"b64_json": text}]}).replace("/", "\\/").encode()
    assert b"\\/" in encoded and b"\\n" in encoded
    openai_env.expect_request(PATH).respond_with_response(
        Response(pieces(encoded, 1000), content_type="application/json")
    )

    result = await provider.generate(request(), progress)

    assert result.images[0].data == noise_png


async def test_a_body_cut_off_mid_image_is_retried(openai_env, provider, progress, sleeps, response_body, noise_png):
    encoded = json.dumps(response_body(noise_png)).encode()
    openai_env.expect_ordered_request(PATH).respond_with_response(
        Response(pieces(encoded[: len(encoded) // 2], 8192), content_type="application/json")
    )
    openai_env.expect_ordered_request(PATH).respond_with_data(encoded, content_type="application/json")

    result = await provider.generate(request(), progress)

    assert result.images[0].data == noise_png
    assert len(openai_env.log) == 2
    assert len(sleeps.waits) == 1
    assert any("upstream_unavailable" in stage for stage in progress.stages)


async def test_a_body_cut_off_every_time_is_a_retryable_unavailable_error(
    openai_env, provider, progress, monkeypatch, response_body, noise_png
) -> None:
    monkeypatch.setenv("MAX_RETRIES", "1")
    encoded = json.dumps(response_body(noise_png)).encode()

    def cut(_: Request) -> Response:  # no length announced: the connection's end is the body's end
        body = pieces(encoded[:100_000], 8192)
        return Response(body, content_type="application/json", headers={"x-request-id": "req_cut"})

    openai_env.expect_request(PATH).respond_with_handler(cut)

    with pytest.raises(UpstreamUnavailableError) as info:
        await provider.generate(request(), progress)

    assert len(openai_env.log) == 2
    assert info.value.retryable
    assert info.value.request_id == "req_cut"
    assert "answer ended after 100,000 bytes, before its JSON document was complete" in info.value.message


async def test_a_whole_answer_whose_json_ends_early_is_not_retried(
    openai_env, provider, progress, response_body, noise_png
) -> None:
    # Its length was announced and arrived: nothing was cut on the way, so asking again would pay again for nothing.
    encoded = json.dumps(response_body(noise_png)).encode()
    openai_env.expect_request(PATH).respond_with_data(encoded[:100_000], content_type="application/json")

    with pytest.raises(BadUpstreamResponseError, match="not valid JSON") as info:
        await provider.generate(request(), progress)

    assert not info.value.retryable and len(openai_env.log) == 1


@pytest.mark.parametrize(
    ("body", "content_type", "match"),
    [
        (b'<html><a href="x>proxy sign-in</html>', "text/html", "answered with text/html instead of JSON"),
        (b'{"data": [{"b64_json": "\xff\xfe"}]}', "application/json", "not valid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "application/json", "not valid JSON"),
        (b'{"_fields_set": 1, "data": []}', "application/json", "not an images response|without any image data"),
        (b"  \n  ", "text/plain", "answered with text/plain instead of JSON"),
        (b'{"created": 1' + b"0" * 5000 + b', "data": []}', "application/json", "not valid JSON"),
        (b'{"data": 5}', "application/json", "without any image data"),
        (b'{"data": true}', "application/json", "without any image data"),
        (b'{"data": [{"b64_json": "QUJD\\\\nrREVG"}]}', "application/json", "corrupt base64"),
    ],
    ids=[
        "html-page",
        "not-utf8",
        "deeply-nested",
        "sdk-private-key",
        "blank-text",
        "huge-number",
        "data-int",
        "data-true",
        "escaped-backslash",
    ],
)
async def test_odd_answers_are_clear_bad_upstream_errors(
    openai_env, provider, progress, body, content_type, match
) -> None:
    openai_env.expect_request(PATH).respond_with_data(
        body.replace(b"\\xff\\xfe", b"\xff\xfe"), content_type=content_type
    )

    with pytest.raises(BadUpstreamResponseError, match=match) as info:
        await provider.generate(request(), progress)

    assert not info.value.retryable and len(openai_env.log) == 1


@pytest.mark.parametrize("content_type", ["text/plain; charset=utf-8", "application/octet-stream", "text/html"])
async def test_json_labelled_as_something_else_is_still_read(
    openai_env, provider, progress, response_body, images, content_type: str
) -> None:
    # Some OpenAI-compatible servers send their JSON with another content type: the body decides, not the label.
    picture = images.png((16, 16))
    body = json.dumps(response_body(picture)).encode()
    openai_env.expect_request(PATH).respond_with_data(b"\n " + body, content_type=content_type)

    result = await provider.generate(request(), progress)

    assert len(result.images) == 1 and result.images[0].data == picture


async def test_a_connection_closed_before_content_length_is_a_connection_error(
    raw_upstream, progress, sleeps, monkeypatch, response_body, noise_png
) -> None:
    monkeypatch.setenv("MAX_RETRIES", "1")
    encoded = json.dumps(response_body(noise_png)).encode()

    def cut(upstream: RawUpstream, connection: socket.socket) -> None:
        connection.sendall(head(len(encoded)) + encoded[: len(encoded) // 3])

    upstream = raw_upstream(cut)

    with pytest.raises(UpstreamUnavailableError) as info:
        await OpenAIProvider(sleep=sleeps).generate(request(), progress)

    assert upstream.requests == 2
    assert info.value.retryable
    assert info.value.request_id == "req_raw"
    assert f"the connection to openai at {upstream.url} failed" in info.value.message


async def test_a_stall_mid_body_is_a_retryable_timeout(raw_upstream, progress, sleeps, monkeypatch, response_body):
    monkeypatch.setenv("MAX_RETRIES", "0")
    monkeypatch.setenv("OPENAI_TIMEOUT", "0.3")
    encoded = json.dumps(response_body(b"\x89PNG" * 1000)).encode()

    def stall(upstream: RawUpstream, connection: socket.socket) -> None:
        connection.sendall(head(len(encoded)) + encoded[:2000])
        upstream.wait_for_close(connection)

    upstream = raw_upstream(stall)

    with pytest.raises(UpstreamTimeoutError) as info:
        await OpenAIProvider(sleep=sleeps).generate(request(), progress)

    assert info.value.retryable
    assert "did not answer within 0.3 s" in info.value.message
    assert await anyio.to_thread.run_sync(upstream.client_closed.wait, 5)


async def test_an_answer_that_trickles_in_is_a_timeout_of_the_whole_answer(
    raw_upstream, progress, sleeps, monkeypatch, response_body
) -> None:
    # Each read gets a byte in time, so only a deadline for the whole answer stops it.
    monkeypatch.setenv("MAX_RETRIES", "0")
    monkeypatch.setenv("OPENAI_TIMEOUT", "1")
    encoded = json.dumps(response_body(b"\x89PNG" * 1000)).encode()

    def drip(upstream: RawUpstream, connection: socket.socket) -> None:
        connection.sendall(head(len(encoded)))
        for byte in encoded:
            try:
                connection.sendall(bytes([byte]))
            except OSError:
                upstream.client_closed.set()
                return
            time.sleep(0.2)

    upstream = raw_upstream(drip)
    started = time.monotonic()

    with pytest.raises(UpstreamTimeoutError) as info:
        await OpenAIProvider(sleep=sleeps).generate(request(), progress)

    assert time.monotonic() - started < 5
    assert info.value.retryable and "did not answer within 1 s" in info.value.message
    assert await anyio.to_thread.run_sync(upstream.client_closed.wait, 5)


async def test_cancelling_while_the_body_arrives_closes_the_connection(raw_upstream, progress, response_body):
    encoded = json.dumps(response_body(b"\x89PNG" * 1000)).encode()

    def stall(upstream: RawUpstream, connection: socket.socket) -> None:
        connection.sendall(head(len(encoded)) + encoded[:2000])
        upstream.wait_for_close(connection)

    upstream = raw_upstream(stall)
    started = time.monotonic()

    with anyio.move_on_after(0.5) as scope:
        await OpenAIProvider().generate(request(), progress)

    assert scope.cancelled_caught
    assert time.monotonic() - started < 3
    assert await anyio.to_thread.run_sync(upstream.client_closed.wait, 5)


async def test_error_statuses_are_mapped_as_before(openai_env, provider, progress, sleeps, response_body, images):
    refusal = {"error": {"message": "Rejected by the safety system.", "type": "x", "code": "moderation_blocked"}}
    openai_env.expect_ordered_request(PATH).respond_with_json(refusal, status=400, headers={"x-request-id": "req_400"})

    with pytest.raises(RefusedError) as refused:
        await provider.generate(request(), progress)

    assert (refused.value.http_status, refused.value.request_id) == (400, "req_400")
    assert len(openai_env.log) == 1

    openai_env.expect_ordered_request(PATH).respond_with_data("upstream down", status=503)
    openai_env.expect_ordered_request(PATH).respond_with_json(response_body(images.png()))

    result = await provider.generate(request(), progress)

    assert len(result.images) == 1
    assert len(openai_env.log) == 3
    assert len(sleeps.waits) == 1


async def test_an_invalid_request_keeps_its_upstream_reason(openai_env, provider, progress) -> None:
    body = {"error": {"message": "Invalid size '1000x1000'.", "type": "invalid_request_error", "code": "bad"}}
    openai_env.expect_request(PATH).respond_with_json(body, status=400)

    with pytest.raises(InvalidRequestError, match=r"rejected the request \(HTTP 400\): Invalid size '1000x1000'"):
        await provider.generate(request(), progress)


async def test_a_handler_answer_keeps_the_request_id_on_json_errors(openai_env, provider, progress) -> None:
    def broken(_: Request) -> Response:
        return Response("<html>bad gateway</html>", content_type="application/json", headers={"x-request-id": "r1"})

    openai_env.expect_request(PATH).respond_with_handler(broken)

    with pytest.raises(BadUpstreamResponseError, match="not valid JSON") as info:
        await provider.generate(request(), progress)

    assert info.value.request_id == "r1"
    assert len(openai_env.log) == 1


async def test_small_answers_are_checked_on_the_event_loop_and_large_ones_in_a_worker_thread(
    openai_env, provider, progress, response_body, images, noise_png, monkeypatch
) -> None:
    hops: list[str] = []
    real = anyio.to_thread.run_sync

    async def counting(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        hops.append(getattr(function, "__name__", "?"))
        return await real(function, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counting)
    small = images.png((16, 16))
    for picture in (small, noise_png):
        openai_env.expect_oneshot_request(PATH).respond_with_json(response_body(picture))
    assert (await provider.generate(request(), progress)).images[0].data == small
    assert hops == []
    assert len(noise_png) > compat.INLINE_PARSE_BYTES
    assert (await provider.generate(request(), progress)).images[0].data == noise_png
    assert hops == ["parse_response"]


def test_the_image_data_size_of_a_response() -> None:
    from types import SimpleNamespace as Item

    response = Item(data=[Item(b64_json="QUJD"), Item(b64_json=b"abcdef"), Item(b64_json=None, url="https://x")])
    assert compat._image_data_size(response) == 10
    assert compat._image_data_size(Item(data=None)) == 0
    assert compat._image_data_size(Item(data=[Item(b64_json=12)])) > compat.INLINE_PARSE_BYTES


async def test_a_decompression_bomb_is_refused_not_read_into_memory(openai_env, provider, progress, monkeypatch):
    from gpt_image_mcp_openai import streaming

    monkeypatch.setattr(streaming, "MAX_TEXT_BYTES", 1024 * 1024)
    bomb = gzip.compress(b'{"data": []' + b" " * (8 * 1024 * 1024) + b"}")
    openai_env.expect_request(PATH).respond_with_data(
        bomb, headers={"content-encoding": "gzip"}, content_type="application/json"
    )

    with pytest.raises(BadUpstreamResponseError, match="sent an answer that is too large") as info:
        await provider.generate(request(), progress)

    assert not info.value.retryable and len(openai_env.log) == 1 and len(bomb) < 20_000


async def test_validate_with_a_model_answer_cut_short_reports_it_not_raises(raw_upstream) -> None:
    def cut(upstream: RawUpstream, connection: socket.socket) -> None:
        connection.sendall(head(1000) + b'{"id": "gpt-image')

    raw_upstream(cut)

    report = await OpenAIProvider().validate()

    reachable = next(check for check in report.checks if check.name == "reachable")
    assert not report.ok and not reachable.ok and "cannot reach" in reachable.detail
