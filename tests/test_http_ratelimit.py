"""Rate limit over real HTTP: tools/call counted per client in a moving window, 429 + Retry-After, proxies."""

from __future__ import annotations

import json
import time

import anyio
import httpx2
import pytest
from gpt_image_mcp.errors import ConfigurationError
from gpt_image_mcp.metrics import Metrics
from gpt_image_mcp.ratelimit import (
    RATE_LIMITED_CODE,
    FollowUpRounds,
    ToolCallRateLimiter,
    client_address,
    count_tool_calls,
    parse_networks,
)
from mcp import Client
from mcp.shared.exceptions import MCPError

from tests.http_support import call_tool, list_tools, rpc_body, rpc_headers, rpc_message, serve_app


def provider_list(http: httpx2.Client, base: str, request_id: int = 1, **headers: str) -> httpx2.Response:
    named = {name.replace("_", "-"): value for name, value in headers.items()}
    return call_tool(http, base, "provider_list", request_id=request_id, headers=named)


def assert_ok(response: httpx2.Response) -> None:
    assert response.status_code == 200, response.text
    message = rpc_message(response)
    assert "result" in message and not message["result"].get("isError"), message


def test_n_plus_first_call_is_refused_then_passes_after_the_window(fresh_metrics: Metrics) -> None:
    with serve_app(max_requests_per_minute=3, rate_limit_window_seconds=2) as app, httpx2.Client() as http:
        for request_id in range(1, 4):
            assert_ok(provider_list(http, app.base, request_id))
        refused = provider_list(http, app.base, 4)
        assert refused.status_code == 429
        retry_after = int(refused.headers["retry-after"])
        assert 1 <= retry_after <= 2
        body = refused.json()
        assert body["jsonrpc"] == "2.0" and body["id"] == 4
        assert body["error"]["code"] == RATE_LIMITED_CODE
        assert body["error"]["data"]["retry_after"] == retry_after
        assert "3 tool calls per 2 s" in body["error"]["message"]

        # Other MCP methods are not counted, nor refused.
        for _ in range(5):
            assert list_tools(http, app.base).status_code == 200
        discover = http.post(app.mcp, json=rpc_body("server/discover"), headers=rpc_headers("server/discover"))
        assert discover.status_code == 200

        time.sleep(retry_after + 0.1)
        assert_ok(provider_list(http, app.base, 5))
    assert fresh_metrics.value("gpt_image_mcp_http_rate_limited_requests_total") == 1


def test_real_image_calls_are_limited_too() -> None:
    with serve_app(max_requests_per_minute=1) as app, httpx2.Client() as http:
        arguments = {"prompt": "a kite", "size": "1024x1024", "output_format": "jpeg"}
        first = call_tool(http, app.base, "image_generate", arguments)
        assert_ok(first)
        second = call_tool(http, app.base, "image_generate", arguments, request_id="second")
        assert second.status_code == 429
        assert second.json()["id"] == "second"
        assert int(second.headers["retry-after"]) > 50  # a 60 s window, just used


def test_a_batch_counts_each_call_and_is_refused_whole() -> None:
    with serve_app(max_requests_per_minute=3, rate_limit_window_seconds=30) as app, httpx2.Client() as http:
        assert_ok(provider_list(http, app.base, 1))
        assert_ok(provider_list(http, app.base, 2))
        batch = [
            rpc_body("tools/call", {"name": "provider_list", "arguments": {}}, 10),
            rpc_body("tools/list", request_id=11),
            rpc_body("tools/call", {"name": "provider_list", "arguments": {}}, 12),
        ]
        refused = http.post(app.mcp, content=json.dumps(batch), headers=rpc_headers("tools/call"))
        assert refused.status_code == 429
        errors = refused.json()
        assert isinstance(errors, list) and [error["id"] for error in errors] == [10, 11, 12]
        assert all(error["error"]["code"] == RATE_LIMITED_CODE for error in errors)
        # Nothing of the refused batch was counted: one call is still allowed.
        assert_ok(provider_list(http, app.base, 3))
        assert provider_list(http, app.base, 4).status_code == 429


def test_spoofed_forwarded_for_from_an_untrusted_peer_changes_nothing() -> None:
    with serve_app(max_requests_per_minute=2, rate_limit_window_seconds=30) as app, httpx2.Client() as http:
        assert_ok(provider_list(http, app.base, 1, x_forwarded_for="203.0.113.1"))
        assert_ok(provider_list(http, app.base, 2, x_forwarded_for="203.0.113.2"))
        refused = provider_list(http, app.base, 3, x_forwarded_for="203.0.113.3")
        assert refused.status_code == 429
        assert provider_list(http, app.base, 4, x_forwarded_for="198.51.100.7, 10.0.0.1").status_code == 429


def test_forwarded_for_from_a_trusted_proxy_separates_clients() -> None:
    settings = {"max_requests_per_minute": 2, "rate_limit_window_seconds": 30, "trusted_proxies": "127.0.0.1/32"}
    with serve_app(**settings) as app, httpx2.Client() as http:
        assert_ok(provider_list(http, app.base, 1, x_forwarded_for="203.0.113.1"))
        assert_ok(provider_list(http, app.base, 2, x_forwarded_for="203.0.113.1"))
        assert provider_list(http, app.base, 3, x_forwarded_for="203.0.113.1").status_code == 429
        # Another client behind the same proxy has its own budget...
        assert_ok(provider_list(http, app.base, 4, x_forwarded_for="203.0.113.2"))
        # ...and a client cannot escape by prepending a made-up address: the right-most untrusted hop counts.
        assert provider_list(http, app.base, 5, x_forwarded_for="192.0.2.99, 203.0.113.1").status_code == 429
        # Without the header, the proxy itself is the client.
        assert_ok(provider_list(http, app.base, 6))


def test_with_a_key_the_client_is_the_key_not_the_address() -> None:
    settings = {"max_requests_per_minute": 1, "rate_limit_window_seconds": 30, "trusted_proxies": "127.0.0.1"}
    with serve_app(mcp_api_key="the-one-key-123456", **settings) as app, httpx2.Client() as http:
        auth = {"authorization": "Bearer the-one-key-123456"}
        assert_ok(provider_list(http, app.base, 1, x_forwarded_for="203.0.113.1", **auth))
        # Same key from "another address": same client.
        assert provider_list(http, app.base, 2, x_forwarded_for="203.0.113.2", **auth).status_code == 429


# -- units -------------------------------------------------------------------------------------------------


def tool_call(request_id: object = 1) -> dict[str, object]:
    return {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": {"name": "x"}}


@pytest.mark.parametrize(
    ("body", "count", "batch"),
    [
        (json.dumps(tool_call()).encode(), 1, False),
        (
            json.dumps([tool_call(1), tool_call(2), {"jsonrpc": "2.0", "id": 3, "method": "tools/list"}]).encode(),
            2,
            True,
        ),
        (json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize"}).encode(), 0, False),
        (json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}).encode(), 0, False),
        (json.dumps({"jsonrpc": "2.0", "id": 1, "result": {}}).encode(), 0, False),
        (b'{"jsonrpc":"2.0","id":1,"method":"tools\\/call"}', 1, False),  # escaped slash: still a tool call
        (b'{"jsonrpc":"2.0","id":1,"method":"\\u0074ools/call"}', 1, False),
        (b"not json", 0, False),
        (b"", 0, False),
        (b"[1, 2, null]", 0, True),
        (b'"tools/call"', 0, False),
        (b"[" * 5000 + b"]" * 5000, 0, False),  # nested too deep for json: nothing counted, the SDK answers 400
        (b"[" * 5000, 0, False),
    ],
)
def test_count_tool_calls(body: bytes, count: int, batch: bool) -> None:
    found = count_tool_calls(body)
    assert (found.count, found.batch) == (count, batch)


PROXIES = parse_networks(["10.0.0.0/8", "127.0.0.1", "::1"])


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("198.51.100.5", ["203.0.113.1"], "198.51.100.5"),  # untrusted peer: header ignored
        ("127.0.0.1", [], "127.0.0.1"),
        ("127.0.0.1", ["203.0.113.1"], "203.0.113.1"),
        ("127.0.0.1", ["192.0.2.1, 203.0.113.1, 10.1.2.3"], "203.0.113.1"),  # skip trusted hops, right to left
        ("127.0.0.1", ["192.0.2.1", "203.0.113.1"], "203.0.113.1"),  # several headers form one chain
        ("127.0.0.1", ["10.0.0.2, 10.0.0.3"], "10.0.0.2"),  # all trusted: the left-most
        ("127.0.0.1", ["garbage, 203.0.113.1"], "203.0.113.1"),
        ("127.0.0.1", ["203.0.113.1, garbage"], "127.0.0.1"),  # unparsable nearest hop: stop at the peer
        ("127.0.0.1", ["[2001:db8::1]:443"], "2001:db8::1"),
        ("127.0.0.1", ["203.0.113.9:5555"], "203.0.113.9"),
        ("::1", ["2001:db8::2"], "2001:db8::2"),
        ("::ffff:127.0.0.1", ["203.0.113.4"], "203.0.113.4"),  # v4-mapped peer
    ],
)
def test_client_address(peer: str, forwarded: list[str], client: str) -> None:
    assert client_address(peer, forwarded, PROXIES) == client


def test_unknown_storage_scheme_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="RATE_LIMIT_STORAGE_URI"):
        ToolCallRateLimiter(10, 60, "nosuch://host")


def test_count_tool_calls_collects_the_states_of_follow_up_rounds() -> None:
    first, again = tool_call(1), tool_call(2)
    again["params"]["requestState"] = "v1.sealed"
    found = count_tool_calls(json.dumps([first, again]).encode())
    assert (found.count, found.states) == (2, ("v1.sealed",))


def test_a_follow_up_round_is_free_once_a_replay_is_charged(monkeypatch: pytest.MonkeyPatch) -> None:
    rounds = FollowUpRounds(ttl=10, max_entries=3, max_per_client=2)
    assert rounds.free_rounds("one", ["a"]) == 1
    assert rounds.free_rounds("one", ["a"]) == 0  # the same state again: a replay
    assert rounds.free_rounds("one", ["b", "c"]) == 1  # its share is full: beyond it rounds are charged
    assert rounds.free_rounds("two", ["x", "y"]) == 1  # another client has its own share, within max_entries
    now = time.monotonic()
    monkeypatch.setattr(time, "monotonic", lambda: now + 11)
    assert rounds.free_rounds("one", ["a", "b"]) == 2  # forgotten after ttl


@pytest.mark.anyio
async def test_a_call_that_asks_the_user_is_charged_once_in_the_2026_protocol() -> None:
    from mcp.client.session import ClientRequestContext
    from mcp_types import ElicitRequestParams, ElicitResult

    asked: list[str] = []

    async def elicit(context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult:
        asked.append(params.message)
        return ElicitResult(action="accept", content={"size": "1536x1024", "quality": "low"})

    with serve_app(max_requests_per_minute=1) as app:
        async with Client(app.mcp, mode="auto", elicitation_callback=elicit) as client:
            result = await client.call_tool("image_generate", {"prompt": "fox"})
            assert not result.is_error and asked, result.content
            assert (result.structured_content["images"][0]["width"]) == 1536
            with pytest.raises(MCPError) as info:  # the limit of 1 was used by that one call, not before
                await client.call_tool("image_generate", {"prompt": "fox", "size": "1024x1024", "quality": "low"})
            assert info.value.code == RATE_LIMITED_CODE


@pytest.mark.anyio
async def test_limiter_moving_window_and_costs() -> None:
    limiter = ToolCallRateLimiter(3, 60, "memory://")
    assert (await limiter.acquire("a", 2)).allowed
    refused = await limiter.acquire("a", 2)
    assert not refused.allowed and 1 <= refused.retry_after <= 60
    assert (await limiter.acquire("a", 1)).allowed
    assert not (await limiter.acquire("a", 1)).allowed
    assert (await limiter.acquire("b", 3)).allowed
    too_big = await limiter.acquire("c", 4)
    assert not too_big.allowed and too_big.retry_after == 60


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_sdk_client_sees_the_limit_in_both_protocol_eras(mode: str) -> None:
    with serve_app(max_requests_per_minute=2, rate_limit_window_seconds=30) as app:
        async with Client(app.mcp, mode=mode) as client:
            await client.list_tools()
            for _ in range(2):
                assert not (await client.call_tool("provider_list", {})).is_error
            with pytest.raises(MCPError) as info:
                await client.call_tool("provider_list", {})
            # The SDK hands the JSON-RPC error of the 429 body to the caller as it is.
            assert info.value.code == RATE_LIMITED_CODE
            assert "Rate limit exceeded" in info.value.message
            assert info.value.data is not None and 1 <= info.value.data["retry_after"] <= 30
            await client.list_tools()  # the session still works for everything but tool calls


@pytest.mark.anyio
async def test_the_in_process_storage_sweeps_at_most_once_a_second_and_still_frees_expired_entries(
    monkeypatch,
) -> None:
    import asyncio

    hops = 0
    real = asyncio.to_thread

    async def counting(*args, **kwargs):
        nonlocal hops
        hops += 1
        return await real(*args, **kwargs)

    monkeypatch.setattr(asyncio, "to_thread", counting)
    limiter = ToolCallRateLimiter(1000, 1, "memory://")
    for _ in range(50):
        assert (await limiter.acquire("a")).allowed
        await anyio.sleep(0.001)  # lets a scheduled sweep run
    assert hops <= 1  # limits' own storage sweeps (in a worker thread) after every hit
    await anyio.sleep(1.1)  # "a"'s entries expire
    limiter.storage.last_sweep = float("-inf")  # as if a second had passed since the last sweep
    assert (await limiter.acquire("b")).allowed
    await anyio.sleep(0.2)
    assert len(limiter.storage.events) == 1  # only "b" is left


def _initialize(http: httpx2.Client, base: str, request_id: int) -> httpx2.Response:
    body = {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}},
    }
    headers = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
    return http.post(f"{base}/mcp", json=body, headers=headers)


def test_new_sessions_are_limited_per_client_and_in_all() -> None:
    with serve_app(max_sessions_per_minute=2, max_sessions=3) as app, httpx2.Client() as http:
        assert [_initialize(http, app.base, i).status_code for i in (1, 2)] == [200, 200]
        refused = _initialize(http, app.base, 3)
        assert refused.status_code == 429 and "retry-after" in refused.headers
        assert refused.json()["error"]["code"] == RATE_LIMITED_CODE
        assert "at most 2 new sessions per 60 s per client" in refused.json()["error"]["message"]
        assert provider_list(http, app.base).status_code == 200  # tool calls have their own budget
    with serve_app(max_sessions=2) as app, httpx2.Client() as http:
        assert [_initialize(http, app.base, i).status_code for i in (1, 2, 3)] == [200, 200, 503]


def test_a_refusal_body_is_valid_json_whatever_the_request_ids() -> None:
    from gpt_image_mcp.ratelimit import rate_limited_body

    calls = count_tool_calls(b'[{"jsonrpc":"2.0","id":NaN,"method":"tools/call"},{"id":[1],"method":"tools/call"}]')
    body = json.loads(rate_limited_body(calls, 1, 60, 30), parse_constant=lambda name: pytest.fail(name))
    assert [error["id"] for error in body] == [None, None]
