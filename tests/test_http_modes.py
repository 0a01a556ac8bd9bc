"""Over real HTTP, in every server mode and both protocol eras, no call waits for an answer that cannot come."""

from __future__ import annotations

import time

import anyio
import pytest
from mcp import Client
from mcp.client.session import ClientRequestContext
from mcp_types import CreateMessageResult, ElicitResult, ListRootsResult, TextContent

from tests.http_support import serve_app

pytestmark = pytest.mark.anyio


async def elicit(context: ClientRequestContext, params) -> ElicitResult:
    return ElicitResult(action="accept", content={"size": "1536x1024", "quality": "low"})


async def sample(context: ClientRequestContext, params) -> CreateMessageResult:
    return CreateMessageResult(role="assistant", content=TextContent(type="text", text="a fox, watercolour"), model="m")


async def roots(context: ClientRequestContext) -> ListRootsResult:
    return ListRootsResult(roots=[])


SERVER_MODES = {
    "stateful": {},
    "stateless": {"http_stateless": True},
    "json-response": {"http_json_response": True},
    "stateless-json": {"http_stateless": True, "http_json_response": True},
}


@pytest.mark.parametrize("server_mode", list(SERVER_MODES))
@pytest.mark.parametrize("client_mode", ["auto", "legacy"])
async def test_full_featured_client_never_hangs(server_mode: str, client_mode: str) -> None:
    with serve_app(**SERVER_MODES[server_mode]) as app:
        async with Client(
            app.mcp,
            mode=client_mode,
            elicitation_callback=elicit,
            sampling_callback=sample,
            list_roots_callback=roots,
            read_timeout_seconds=20,
        ) as client:
            start = time.monotonic()
            with anyio.fail_after(15):
                result = await client.call_tool(
                    "image_generate", {"prompt": "fox", "enhance_prompt": True, "save_to_workspace": True}
                )
            elapsed = time.monotonic() - start
    assert not result.is_error, result.content[0].text
    assert elapsed < 3, f"{server_mode}/{client_mode} took {elapsed:.1f}s"
    structured = result.structured_content
    asked = client_mode == "auto" or server_mode == "stateful"
    if asked:  # the questions could be carried: the answers were used
        assert (structured["images"][0]["width"], structured["images"][0]["height"]) == (1536, 1024)
        assert structured["prompt"] == "a fox, watercolour"
    else:  # no back channel: defaults at once
        assert (structured["images"][0]["width"], structured["images"][0]["height"]) == (1024, 1024)
        assert structured["prompt"] == "fox"


@pytest.mark.parametrize("server_mode", list(SERVER_MODES))
@pytest.mark.parametrize("client_mode", ["auto", "legacy"])
async def test_bare_client(server_mode: str, client_mode: str) -> None:
    with serve_app(**SERVER_MODES[server_mode]) as app:
        async with Client(app.mcp, mode=client_mode) as client:
            with anyio.fail_after(10):
                result = await client.call_tool("image_generate", {"prompt": "fox", "enhance_prompt": True})
    assert not result.is_error and result.structured_content["prompt"] == "fox"
