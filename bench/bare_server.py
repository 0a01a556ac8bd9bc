"""The bare baseline: a minimal `mcp` server with gpt-image-mcp's five tool names that does no work.

    python bench/bare_server.py                                   # stdio
    python bench/bare_server.py --transport http --port 8123      # Streamable HTTP on 127.0.0.1:8123/mcp

It is what the MCP SDK itself costs on this machine: the benchmarks report gpt-image-mcp's figures as ratios
to this server's, run the same way in the same run. `image_generate` takes the arguments the benchmark sends
and returns a tiny fixed text; with env `BARE_DELAY_MS` it first sleeps that long (a stand-in for an upstream
that answers in that time, used to show the ceiling of the throughput measurement).
"""

from __future__ import annotations

import argparse
import os

import anyio
from mcp.server.mcpserver import MCPServer

DELAY_SECONDS = min(max(float(os.environ.get("BARE_DELAY_MS", "0")), 0.0), 60_000.0) / 1000

mcp = MCPServer(name="bare-baseline", version="0", log_level="WARNING")


@mcp.tool(name="image_generate")
async def image_generate(
    prompt: str, size: str | None = None, quality: str | None = None, output_format: str | None = None
) -> str:
    if DELAY_SECONDS:
        await anyio.sleep(DELAY_SECONDS)
    return "ok"


@mcp.tool(name="image_edit")
async def image_edit(prompt: str, image: str | None = None) -> str:
    return "ok"


@mcp.tool(name="image_variation")
async def image_variation(image: str) -> str:
    return "ok"


@mcp.tool(name="provider_list")
async def provider_list() -> str:
    return "ok"


@mcp.tool(name="provider_validate")
async def provider_validate(provider: str | None = None) -> str:
    return "ok"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Bare MCP baseline server (no work).")
    parser.add_argument("--transport", choices=["stdio", "http"], default="stdio")
    parser.add_argument("--port", type=int, default=8000, help="HTTP port on 127.0.0.1")
    args = parser.parse_args(argv)
    if args.transport == "stdio":
        anyio.run(mcp.run_stdio_async)
        return
    import uvicorn

    app = mcp.streamable_http_app(streamable_http_path="/mcp", host="127.0.0.1")
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False, log_config=None)


if __name__ == "__main__":
    main()
