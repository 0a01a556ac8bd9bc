"""Streamable HTTP transport: /mcp plus health routes, served by uvicorn."""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse

from gpt_image_mcp.service import ImageService
from gpt_image_mcp.settings import Settings


def readiness_problems(service: ImageService) -> list[str]:
    """Why the server cannot serve real calls yet (empty when ready)."""
    problems = [f"plugin {info.name} failed: {info.error}" for info in service.registry.failed_plugins()]
    provider = service.providers[service.default_provider]
    problems += [f"{provider.name}: {problem}" for problem in provider.configuration_problems()]
    return problems


def build_http_app(server: MCPServer, service: ImageService, settings: Settings) -> Starlette:
    """The ASGI app: MCP at /mcp, /health/live and /health/ready beside it."""

    @server.custom_route("/health/live", methods=["GET"])
    async def live(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    @server.custom_route("/health/ready", methods=["GET"])
    async def ready(request: Request) -> JSONResponse:
        problems = readiness_problems(service)
        body = {
            "status": "ready" if not problems else "not_ready",
            "provider": service.default_provider,
            "providers": list(service.providers),
            "problems": problems,
        }
        return JSONResponse(body, status_code=200 if not problems else 503)

    return server.streamable_http_app(streamable_http_path="/mcp", host=settings.host)


def run_http(server: MCPServer, service: ImageService, settings: Settings) -> None:
    import uvicorn

    app = build_http_app(server, service, settings)
    config = uvicorn.Config(
        app, host=settings.host, port=settings.port, log_level=settings.log_level, lifespan="on", log_config=None
    )
    uvicorn.Server(config).run()
