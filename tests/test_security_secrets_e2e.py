"""End to end: a provider that puts its key in errors and logs; the key must appear nowhere a client or an
operator can see it: tool results (text and structured), HTTP responses, and the server's stderr."""

from __future__ import annotations

import json
from pathlib import Path

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.http_support import install_throwaway_plugin, start_server_process

pytestmark = pytest.mark.anyio

LEAKY_KEY = "lk-7Qx2Zp9Wm4Rt8Yv1"
MCP_KEY = "mcp-e2e-key-5n3b8c1x"
METRICS_KEY = "metrics-e2e-key-2k9j"


@pytest.mark.parametrize("log_format", ["json", "text"])
async def test_provider_key_never_reaches_clients_or_logs(tmp_path: Path, log_format: str) -> None:
    plugins = install_throwaway_plugin(tmp_path / "plugins")
    env = {
        "PROVIDER": "leaky,offline",
        "LEAKY_API_KEY": LEAKY_KEY,
        "MCP_API_KEY": MCP_KEY,
        "METRICS_API_KEY": METRICS_KEY,
        "LOG_LEVEL": "debug",
        "LOG_FORMAT": log_format,
    }
    server = start_server_process(env, tmp_path, plugin_path=plugins)
    seen: list[str] = []
    try:
        headers = {"authorization": f"Bearer {MCP_KEY}"}
        for mode in ("auto", "legacy"):
            async with (
                httpx2.AsyncClient(headers=headers, timeout=60) as http,
                Client(streamable_http_client(server.mcp, http_client=http), mode=mode) as client,
            ):
                for prompt in ("a cat", "crash now", "log-exception please"):
                    result = await client.call_tool("image_generate", {"prompt": prompt, "size": "1024x1024"})
                    assert result.is_error
                    seen.append(result.model_dump_json(by_alias=True))
                validation = await client.call_tool("provider_validate", {"provider": "leaky"})
                seen.append(validation.model_dump_json(by_alias=True))
                assert validation.structured_content is not None and not validation.structured_content["ok"]
                listing = await client.call_tool("provider_list", {})
                seen.append(listing.model_dump_json(by_alias=True))
        async with httpx2.AsyncClient() as http:
            for path, key in (("/metrics", METRICS_KEY), ("/health/ready", None)):
                response = await http.get(
                    f"{server.base}{path}", headers={"authorization": f"Bearer {key}"} if key else {}
                )
                seen.append(response.text)
    finally:
        status, stderr = server.stop()

    # The failing call said what was wrong, with the key masked.
    first = json.loads(seen[0])
    assert "Incorrect API key provided: ***" in first["content"][0]["text"]
    assert first["structuredContent"]["error"]["code"] == "authentication"
    # The logs did record the events (so the absence of the key below means something).
    assert "calling upstream with key ***" in stderr
    assert "upstream client blew up while sending key ***" in stderr
    assert "ValueError: bad key ***" in stderr
    assert "Traceback" in stderr  # the crash's traceback is logged, masked
    for secret in (LEAKY_KEY, MCP_KEY, METRICS_KEY):
        assert secret not in stderr
        for text in seen:
            assert secret not in text
    if log_format == "json":
        records = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
        assert records and len(records) == len([line for line in stderr.splitlines() if line.strip()])
        assert any(record.get("request_id") for record in records if record["logger"] == "throwaway_plugin")
    assert status == 0
