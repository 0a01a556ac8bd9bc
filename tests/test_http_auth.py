"""Bearer keys over real HTTP: the /mcp matrix, open health routes, /metrics with its own key."""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator

import httpx2
import pytest
from gpt_image_mcp.auth import BearerKey, bearer_token
from gpt_image_mcp.http import build_http_app
from gpt_image_mcp.metrics import Metrics
from gpt_image_mcp.server import build_server
from gpt_image_mcp.service import ImageService
from gpt_image_mcp.settings import load_settings
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.http_support import RunningApp, list_tools, rpc_message, sample, scrape, serve_app

KEY = "k3y-for-tests-0123456789"
METRICS_KEY = "metr1cs-key-abcdef"


@pytest.fixture(scope="module")
def secured() -> Iterator[RunningApp]:
    with serve_app(mcp_api_key=KEY, metrics_api_key=METRICS_KEY) as app:
        yield app


@pytest.fixture
def http(secured: RunningApp) -> Iterator[httpx2.Client]:
    with httpx2.Client(timeout=30) as client:
        yield client


AUTH_MATRIX = [
    pytest.param(None, 401, id="no-header"),
    pytest.param("Bearer wrong-key", 401, id="wrong-key"),
    pytest.param(f"Bearer {KEY}", 200, id="right-key"),
    pytest.param(f"Bearer {KEY[:-1]}", 401, id="one-char-shorter"),
    pytest.param(f"Bearer {KEY}0", 401, id="one-char-longer"),
    pytest.param(f"Bearer {KEY.upper()}", 401, id="key-is-case-sensitive"),
    pytest.param(f"bearer {KEY}", 200, id="lowercase-scheme"),
    pytest.param(f"BEARER {KEY}", 200, id="uppercase-scheme"),
    pytest.param(f"Bearer    {KEY}", 200, id="several-spaces"),
    pytest.param(f"Bearer\t{KEY}", 200, id="tab-separator"),
    pytest.param(f"Bearer {KEY} extra", 401, id="two-words"),
    pytest.param(f"Bearer{KEY}", 401, id="no-separator"),
    pytest.param("Bearer", 401, id="scheme-only"),
    pytest.param(KEY, 401, id="no-scheme"),
    pytest.param(f"Basic {base64.b64encode(f'user:{KEY}'.encode()).decode()}", 401, id="basic-scheme"),
    pytest.param(f"Basic {KEY}", 401, id="basic-with-the-key"),
    pytest.param(f"Token {KEY}", 401, id="other-scheme"),
]


@pytest.mark.parametrize(("authorization", "status"), AUTH_MATRIX)
def test_auth_matrix_on_mcp(secured: RunningApp, http: httpx2.Client, authorization: str | None, status: int) -> None:
    headers = {"authorization": authorization} if authorization is not None else {}
    response = list_tools(http, secured.base, **headers)
    assert response.status_code == status, response.text
    if status == 401:
        challenge = response.headers["www-authenticate"]
        assert challenge.startswith("Bearer ")
        assert ('error="invalid_token"' in challenge) == (authorization is not None)
        assert response.json()["error"] in {"unauthorized", "invalid_token"}
        assert KEY not in response.text
    else:
        names = {tool["name"] for tool in rpc_message(response)["result"]["tools"]}
        assert {"image_generate", "provider_list"} <= names


@pytest.mark.parametrize("method", ["GET", "DELETE", "PUT", "OPTIONS"])
def test_every_method_on_mcp_needs_the_key(secured: RunningApp, http: httpx2.Client, method: str) -> None:
    response = http.request(method, secured.mcp, headers={"accept": "text/event-stream"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_unknown_paths_are_not_a_way_around_the_key(secured: RunningApp, http: httpx2.Client) -> None:
    assert http.post(f"{secured.base}/mcp/", json={}).status_code == 401
    assert http.get(f"{secured.base}/anything").status_code == 401


def test_health_routes_stay_open(secured: RunningApp, http: httpx2.Client) -> None:
    live = http.get(f"{secured.base}/health/live")
    ready = http.get(f"{secured.base}/health/ready")
    assert live.status_code == 200 and live.json() == {"status": "ok"}
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    wrong = http.get(f"{secured.base}/health/live", headers={"authorization": "Bearer nope"})
    assert wrong.status_code == 200


def test_metrics_has_its_own_key(secured: RunningApp, http: httpx2.Client) -> None:
    assert http.get(f"{secured.base}/metrics").status_code == 401
    mcp_key = http.get(f"{secured.base}/metrics", headers={"authorization": f"Bearer {KEY}"})
    assert mcp_key.status_code == 401
    assert mcp_key.headers["www-authenticate"].startswith("Bearer")
    ok = http.get(f"{secured.base}/metrics", headers={"authorization": f"Bearer {METRICS_KEY}"})
    assert ok.status_code == 200
    assert ok.headers["content-type"].startswith("text/plain")
    assert "gpt_image_mcp_tool_calls_total" in ok.text or "# HELP gpt_image_mcp_tool_calls" in ok.text
    # The metrics key does not open /mcp.
    assert list_tools(http, secured.base, authorization=f"Bearer {METRICS_KEY}").status_code == 401


def test_auth_failures_are_counted(fresh_metrics: Metrics, secured: RunningApp, http: httpx2.Client) -> None:
    list_tools(http, secured.base)
    list_tools(http, secured.base, authorization="Bearer nope")
    http.get(f"{secured.base}/metrics")
    samples = scrape(http, secured.base, METRICS_KEY)
    assert sample(samples, "gpt_image_mcp_http_auth_failures_total", endpoint="mcp") == 2
    assert sample(samples, "gpt_image_mcp_http_auth_failures_total", endpoint="metrics") == 1


def test_metrics_is_open_without_a_metrics_key_even_when_mcp_has_one() -> None:
    with serve_app(mcp_api_key=KEY) as app, httpx2.Client() as http:
        assert http.get(f"{app.base}/metrics").status_code == 200
        assert list_tools(http, app.base).status_code == 401


def test_no_key_configured_means_open_mcp() -> None:
    with serve_app() as app, httpx2.Client() as http:
        assert list_tools(http, app.base).status_code == 200
        assert list_tools(http, app.base, authorization="Bearer anything").status_code == 200


def test_key_from_file(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    key_file = tmp_path / "mcp.key"
    key_file.write_text("  file-key-987654321\n")
    monkeypatch.setenv("MCP_API_KEY_FILE", str(key_file))
    with serve_app() as app, httpx2.Client() as http:
        assert list_tools(http, app.base).status_code == 401
        assert list_tools(http, app.base, authorization="Bearer file-key-987654321").status_code == 200


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_sdk_client_with_the_key_makes_real_calls(secured: RunningApp, mode: str) -> None:
    headers = {"authorization": f"Bearer {KEY}"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=60) as http_client,
        Client(streamable_http_client(secured.mcp, http_client=http_client), mode=mode) as client,
    ):
        result = await client.call_tool(
            "image_generate", {"prompt": "a lighthouse", "size": "1024x1024", "output_format": "jpeg"}
        )
    assert not result.is_error
    assert result.content[1].mime_type == "image/jpeg"


@pytest.mark.anyio
async def test_sdk_client_without_the_key_is_refused(fresh_metrics: Metrics, secured: RunningApp) -> None:
    with pytest.raises(Exception):  # noqa: B017 - the SDK reports HTTP 401 as a generic error
        async with Client(secured.mcp) as client:
            await client.list_tools()
    assert fresh_metrics.value("gpt_image_mcp_http_auth_failures_total", {"endpoint": "mcp"}) >= 1


def test_loud_warning_when_exposed_without_a_key(caplog: pytest.LogCaptureFixture) -> None:
    settings = load_settings(provider="offline", host="0.0.0.0")
    service = ImageService.create(settings)
    with caplog.at_level(logging.WARNING, logger="gpt_image_mcp.http"):
        build_http_app(build_server(service), service, settings)
    text = caplog.text
    assert "SECURITY WARNING" in text and "MCP_API_KEY" in text
    assert "ALLOWED_HOSTS" in text


def test_no_warning_on_loopback(caplog: pytest.LogCaptureFixture) -> None:
    settings = load_settings(provider="offline")
    service = ImageService.create(settings)
    with caplog.at_level(logging.WARNING, logger="gpt_image_mcp.http"):
        build_http_app(build_server(service), service, settings)
    assert "SECURITY WARNING" not in caplog.text


@pytest.mark.parametrize(
    ("header", "token"),
    [
        (None, None),
        (b"", None),
        (b"Bearer abc", b"abc"),
        (b"bearer abc", b"abc"),
        (b"Bearer   abc", b"abc"),
        (b" Bearer abc ", b"abc"),
        (b"Bearer a b", None),
        (b"Basic abc", None),
        (b"Bearer", None),
        (b"abc", None),
    ],
)
def test_bearer_token_parsing(header: bytes | None, token: bytes | None) -> None:
    assert bearer_token(header) == token


def test_bearer_key_compares_any_length_and_bytes() -> None:
    key = BearerKey("sécret-ключ")
    assert key.matches("sécret-ключ".encode())
    assert not key.matches(b"")
    assert not key.matches(None)
    assert not key.matches(b"x" * 10_000)
    assert not key.matches("sécret-ключ".encode("latin-1", errors="replace"))
    with pytest.raises(ValueError, match="empty"):
        BearerKey("")
