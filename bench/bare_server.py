"""The bare baseline: a minimal `mcp` server with gpt-image-mcp's five tool names that does no work.

    python bench/bare_server.py                                   # stdio
    python bench/bare_server.py --transport http --port 8123      # Streamable HTTP on 127.0.0.1:8123/mcp
    python bench/bare_server.py --forward                         # the forwarding floor (below)

It is what the MCP SDK itself costs on this machine: the benchmarks report gpt-image-mcp's figures as ratios
to this server's, run the same way in the same run. `image_generate` takes the arguments the benchmark sends
and returns a tiny fixed text; with env `BARE_DELAY_MS` it first sleeps that long (a stand-in for an upstream
that answers in that time, used to show the ceiling of the throughput measurement).

With `--forward` it is the least a server that forwards the call can do: `image_generate` sends one POST to
`$OPENAI_BASE_URL/images/generations` with httpx2 (one client, kept alive), decodes the image of the answer and
returns it inline with one line of text: no checks, no store, no structured result, no retries. Its CPU per
call is the floor under any image server built on the MCP SDK and an HTTP client.
"""

from __future__ import annotations

import argparse
import base64
import os
from typing import Any

import anyio
from mcp.server.mcpserver import MCPServer
from mcp_types import ImageContent, TextContent

DELAY_SECONDS = min(max(float(os.environ.get("BARE_DELAY_MS", "0")), 0.0), 60_000.0) / 1000


async def image_generate(
    prompt: str, size: str | None = None, quality: str | None = None, output_format: str | None = None
) -> str:
    if DELAY_SECONDS:
        await anyio.sleep(DELAY_SECONDS)
    return "ok"


class Forwarder:
    """`image_generate` of the forwarding floor: one upstream request, the image returned inline."""

    def __init__(self) -> None:
        import httpx2

        self.client = httpx2.AsyncClient(
            base_url=os.environ["OPENAI_BASE_URL"].rstrip("/") + "/",
            headers={"Authorization": f"Bearer {os.environ.get('OPENAI_API_KEY', '')}"},
            timeout=600,
        )

    async def image_generate(
        self, prompt: str, size: str | None = None, quality: str | None = None, output_format: str | None = None
    ) -> list[TextContent | ImageContent]:
        body = {"model": "gpt-image-2", "prompt": prompt, "n": 1, "size": size, "quality": quality}
        response = await self.client.post("images/generations", json=body | {"output_format": output_format})
        response.raise_for_status()
        b64 = response.json()["data"][0]["b64_json"]
        data = base64.b64decode(b64)
        return [
            TextContent(type="text", text=f"one image, {len(data)} bytes"),
            ImageContent(type="image", data=b64, mime_type="image/png"),
        ]


async def image_edit(prompt: str, image: str | None = None) -> str:
    return "ok"


async def image_variation(image: str) -> str:
    return "ok"


async def provider_list() -> str:
    return "ok"


async def provider_validate(provider: str | None = None) -> str:
    return "ok"


def build(forward: bool) -> MCPServer:
    mcp = MCPServer(name="bare-baseline", version="0", log_level="WARNING")
    generate: Any = Forwarder().image_generate if forward else image_generate
    for name, function in (
        ("image_generate", generate),
        ("image_edit", image_edit),
        ("image_variation", image_variation),
        ("provider_list", provider_list),
        ("provider_validate", provider_validate),
    ):
        mcp.tool(name=name)(function)
    return mcp


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Bare MCP baseline server (no work).")
    parser.add_argument("--transport", choices=["stdio", "http"], default="stdio")
    parser.add_argument("--port", type=int, default=8000, help="HTTP port on 127.0.0.1")
    parser.add_argument("--forward", action="store_true", help="forward image_generate to $OPENAI_BASE_URL")
    args = parser.parse_args(argv)
    mcp = build(args.forward)
    if args.transport == "stdio":
        anyio.run(mcp.run_stdio_async)
        return
    import uvicorn

    app = mcp.streamable_http_app(streamable_http_path="/mcp", host="127.0.0.1")
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False, log_config=None)


if __name__ == "__main__":
    main()
