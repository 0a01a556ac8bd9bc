"""Host/Origin checks (DNS rebinding) and the request body cap, over real HTTP."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator

import httpx2
import pytest
from gpt_image_mcp.errors import ConfigurationError
from gpt_image_mcp.http import LOOPBACK_HOSTS, is_loopback, transport_security
from gpt_image_mcp.settings import load_settings
from PIL import Image

from tests.helpers import b64, png_bytes
from tests.http_support import call_tool, list_tools, rpc_body, rpc_headers, rpc_message, serve_app


def test_loopback_defaults_reject_foreign_host_and_origin() -> None:
    with serve_app() as app, httpx2.Client() as http:
        assert list_tools(http, app.base).status_code == 200
        assert list_tools(http, app.base, host=f"localhost:{app.port}").status_code == 200
        assert list_tools(http, app.base, origin=f"http://localhost:{app.port}").status_code == 200
        assert list_tools(http, app.base, origin="http://127.0.0.1:5173").status_code == 200

        foreign_host = list_tools(http, app.base, host="attacker.example")
        assert foreign_host.status_code == 421
        foreign_origin = list_tools(http, app.base, origin="http://attacker.example")
        assert foreign_origin.status_code == 403
        assert list_tools(http, app.base, origin="https://localhost.attacker.example").status_code == 403


def test_configured_hosts_and_origins_are_accepted_others_rejected() -> None:
    settings = {"allowed_hosts": "mcp.example.com,proxy.internal:*", "allowed_origins": "https://app.example.com"}
    with serve_app(**settings) as app, httpx2.Client() as http:
        assert list_tools(http, app.base, host="mcp.example.com").status_code == 200
        assert list_tools(http, app.base, host="proxy.internal:8443").status_code == 200
        assert list_tools(http, app.base, origin="https://app.example.com").status_code == 200
        both = list_tools(http, app.base, host="mcp.example.com", origin="https://app.example.com")
        assert both.status_code == 200
        # Bound to loopback: the loopback names still work (a reverse proxy on the same machine, local tools).
        assert list_tools(http, app.base).status_code == 200

        # Any port includes none (a reverse proxy on 80/443 sends no port); names are case-insensitive.
        assert list_tools(http, app.base, host="proxy.internal").status_code == 200
        assert list_tools(http, app.base, host="MCP.Example.COM").status_code == 200
        assert list_tools(http, app.base, origin="https://APP.example.com").status_code == 200

        assert list_tools(http, app.base, host="other.example.com").status_code == 421
        assert list_tools(http, app.base, host="proxy.internal.attacker:80").status_code == 421
        assert list_tools(http, app.base, host="mcp.example.com.attacker.example").status_code == 421
        assert list_tools(http, app.base, origin="https://evil.example").status_code == 403
        assert list_tools(http, app.base, origin="http://app.example.com").status_code == 403


def test_health_routes_do_not_check_the_host() -> None:
    with serve_app() as app, httpx2.Client() as http:
        probe = http.get(f"{app.base}/health/ready", headers={"host": "10.1.2.3:8080"})
        assert probe.status_code == 200


def test_transport_security_settings() -> None:
    assert transport_security(load_settings()) is None  # the SDK's loopback defaults apply
    configured = transport_security(load_settings(allowed_hosts="mcp.example.com"))
    assert configured is not None and configured.enable_dns_rebinding_protection
    assert configured.allowed_hosts == ["mcp.example.com", *LOOPBACK_HOSTS, "127.0.0.1", "localhost", "[::1]"]
    public = transport_security(load_settings(host="0.0.0.0", allowed_hosts="mcp.example.com"))
    assert public is not None and public.allowed_hosts == ["mcp.example.com"]
    with pytest.raises(ConfigurationError, match="ALLOWED_HOSTS"):
        transport_security(load_settings(host="0.0.0.0", allowed_origins="https://app.example.com"))


@pytest.mark.parametrize(("host", "loopback"), [("127.0.0.1", True), ("::1", True), ("localhost", True),
                                                ("127.0.0.2", True), ("0.0.0.0", False), ("::", False),
                                                ("192.168.1.10", False), ("example.com", False)])  # fmt: skip
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


# -- body size ---------------------------------------------------------------------------------------------


@pytest.fixture
def small_cap() -> Iterator[str]:
    with serve_app(max_request_bytes=64 * 1024) as app:
        yield app.base


def test_oversized_body_with_content_length_is_refused(small_cap: str) -> None:
    body = rpc_body("tools/call", {"name": "provider_list", "arguments": {"pad": "x" * 100_000}})
    with httpx2.Client() as http:
        response = http.post(f"{small_cap}/mcp", content=json.dumps(body), headers=rpc_headers("tools/call"))
    assert response.status_code == 413
    assert "65536" in response.json()["error"]["message"]


def test_oversized_chunked_body_is_refused(small_cap: str) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(20):
            yield b" " * 8192

    with httpx2.Client() as http:
        response = http.post(f"{small_cap}/mcp", content=chunks(), headers=rpc_headers("tools/call"))
    assert response.status_code == 413


def test_body_under_the_cap_passes(small_cap: str) -> None:
    with httpx2.Client() as http:
        response = call_tool(http, small_cap, "provider_list")
    assert response.status_code == 200
    assert "result" in rpc_message(response)


def test_default_cap_accepts_edits_larger_than_the_sdk_default_of_4_mib() -> None:
    # A 6 MiB+ body: an edit of a large noisy PNG (incompressible), far above the SDK's own 4 MiB default.
    noise = Image.frombytes("RGB", (1400, 1400), os.urandom(1400 * 1400 * 3))
    buffer = io.BytesIO()
    noise.save(buffer, format="PNG", compress_level=0)
    image = b64(buffer.getvalue())
    assert len(image) > 6 * 1024 * 1024
    with serve_app() as app, httpx2.Client(timeout=60) as http:
        response = call_tool(
            http,
            app.base,
            "image_edit",
            {"prompt": "make it calm", "image": image, "size": "1024x1024", "output_format": "jpeg"},
        )
        assert response.status_code == 200, response.text[:300]
        result = rpc_message(response)["result"]
        assert not result.get("isError"), result["content"][0]
        small = call_tool(http, app.base, "image_edit", {"prompt": "x", "image": b64(png_bytes()), "size": "auto"})
        assert small.status_code == 200
