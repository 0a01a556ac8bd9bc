"""Load: 200 concurrent tool calls over HTTP (real image calls included), no error, every result right."""

from __future__ import annotations

import base64
import io
import time

import anyio
import httpx2
import pytest
from gpt_image_mcp.metrics import Metrics
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from PIL import Image

from tests.http_support import sample, scrape, serve_app

pytestmark = pytest.mark.anyio

CLIENTS = 8
CALLS_PER_CLIENT = 25
KEY = "load-test-key-0123456789"


async def test_200_concurrent_calls_over_http(fresh_metrics: Metrics) -> None:
    failures: list[str] = []
    checked: list[str] = []

    async def one_client(url: str, index: int) -> None:
        mode = "legacy" if index % 2 else "auto"
        headers = {"authorization": f"Bearer {KEY}"}
        async with (
            httpx2.AsyncClient(headers=headers, timeout=120) as http,
            Client(streamable_http_client(url, http_client=http), mode=mode) as client,
            anyio.create_task_group() as group,
        ):
            for call in range(CALLS_PER_CLIENT):
                group.start_soon(one_call, client, index, call)

    async def one_call(client: Client, index: int, call: int) -> None:
        tag = f"client {index} call {call}"
        try:
            if call % 5 == 4:  # one call in five lists providers; the others draw real images
                result = await client.call_tool("provider_list", {})
                assert not result.is_error, result
                assert result.structured_content["default_provider"] == "offline"
            else:
                prompt = f"load test {index}-{call}"
                result = await client.call_tool(
                    "image_generate",
                    {"prompt": prompt, "size": "1024x1024", "output_format": "jpeg", "output_compression": 50},
                )
                assert not result.is_error, result.content[0]
                structured = result.structured_content
                assert structured["ok"] and structured["provider"] == "offline"
                assert structured["prompt"] == prompt
                image = Image.open(io.BytesIO(base64.b64decode(result.content[1].data)))
                assert image.format == "JPEG" and image.size == (1024, 1024)
            checked.append(tag)
        except Exception as exc:
            failures.append(f"{tag}: {exc!r}")

    with serve_app(mcp_api_key=KEY, max_requests_per_minute=10_000) as app:
        start = time.monotonic()
        async with anyio.create_task_group() as group:
            for index in range(CLIENTS):
                group.start_soon(one_client, app.mcp, index)
        elapsed = time.monotonic() - start
        with httpx2.Client() as http:
            samples = scrape(http, app.base)

    assert failures == []
    assert len(checked) == CLIENTS * CALLS_PER_CLIENT
    assert sample(samples, "gpt_image_mcp_tool_calls_total", outcome="ok") == 200
    assert sample(samples, "gpt_image_mcp_images_total") == 160
    assert sample(samples, "gpt_image_mcp_tool_calls_in_flight") == 0
    assert sample(samples, "gpt_image_mcp_http_rate_limited_requests_total") == 0
    assert elapsed < 60
