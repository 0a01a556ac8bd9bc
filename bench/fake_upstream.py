"""A fake OpenAI Images upstream for the benchmarks: fixed PNGs, configurable latency, 127.0.0.1 only.

    python bench/fake_upstream.py [--port 0]

Prints one JSON line `{"port": N}` on stdout once it accepts connections, then serves until killed:

- `POST /v1/images/generations`: waits `latency_ms`, answers an Images API body with one PNG (`b64_json`);
  the body is built once per image configuration, so serving it costs next to nothing;
- `POST /bench/config` `{"latency_ms": 500, "width": 1024, "height": 1024, "noise": false}`: what the next
  answers look like (noise images are random RGB, so PNG cannot compress them: 3 bytes a pixel);
- `GET /bench/stats`: `{"requests": N, "image_bytes": B}` (requests answered so far, size of the current PNG).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import json
import os
import socket
import sys
from dataclasses import dataclass
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

MAX_LATENCY_MS = 60_000
MAX_EDGE = 4096


@dataclass(frozen=True)
class ImageSpec:
    width: int = 1024
    height: int = 1024
    noise: bool = False


def make_png(spec: ImageSpec) -> bytes:
    """A PNG of the given size: one flat colour (a few KB), or random RGB noise (about 3 bytes a pixel)."""
    from PIL import Image

    if spec.noise:
        image = Image.frombytes("RGB", (spec.width, spec.height), os.urandom(spec.width * spec.height * 3))
    else:
        image = Image.new("RGB", (spec.width, spec.height), (40, 120, 200))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


class FakeUpstream:
    """State of the fake: the current latency and the prebuilt response body for the current image."""

    def __init__(self) -> None:
        self.latency = 0.0
        self.requests = 0
        self._bodies: dict[ImageSpec, tuple[bytes, int]] = {}
        self.spec = ImageSpec()
        self.body, self.image_bytes = self._body_for(self.spec)

    def _body_for(self, spec: ImageSpec) -> tuple[bytes, int]:
        if spec not in self._bodies:
            png = make_png(spec)
            payload = {
                "created": 1_790_000_000,
                "data": [{"b64_json": base64.b64encode(png).decode("ascii")}],
                "size": f"{spec.width}x{spec.height}",
                "output_format": "png",
                "usage": {"input_tokens": 10, "output_tokens": 100, "total_tokens": 110},
            }
            self._bodies = {spec: (json.dumps(payload).encode(), len(png))}  # keep one: big bodies are big
        return self._bodies[spec]

    async def generations(self, request: Request) -> Response:
        await request.body()
        if self.latency > 0:
            await asyncio.sleep(self.latency)
        self.requests += 1
        return Response(self.body, media_type="application/json", headers={"x-request-id": f"req_{self.requests}"})

    async def config(self, request: Request) -> JSONResponse:
        wanted: dict[str, Any] = await request.json()
        latency_ms = min(max(int(wanted.get("latency_ms", 0)), 0), MAX_LATENCY_MS)
        spec = ImageSpec(
            width=min(max(int(wanted.get("width", 1024)), 1), MAX_EDGE),
            height=min(max(int(wanted.get("height", 1024)), 1), MAX_EDGE),
            noise=bool(wanted.get("noise", False)),
        )
        # Encoding a 4K noise PNG takes a moment: off the event loop.
        body, image_bytes = await asyncio.to_thread(self._body_for, spec)
        self.latency, self.spec, self.body, self.image_bytes = latency_ms / 1000, spec, body, image_bytes
        return JSONResponse({"latency_ms": latency_ms, "image_bytes": image_bytes, "body_bytes": len(body)})

    async def stats(self, request: Request) -> JSONResponse:
        return JSONResponse({"requests": self.requests, "image_bytes": self.image_bytes})


def build_app(state: FakeUpstream | None = None) -> Starlette:
    state = state or FakeUpstream()
    return Starlette(
        routes=[
            Route("/v1/images/generations", state.generations, methods=["POST"]),
            Route("/bench/config", state.config, methods=["POST"]),
            Route("/bench/stats", state.stats, methods=["GET"]),
        ]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: a free one)")
    args = parser.parse_args(argv)
    # proto=IPPROTO_TCP: asyncio sets TCP_NODELAY on accepted connections only for sockets created so; with
    # proto 0, Nagle's algorithm and the client's delayed ACK add 40 ms to every answer.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    sock.listen(256)
    config = uvicorn.Config(build_app(), log_level="warning", access_log=False, lifespan="off", log_config=None)
    server = uvicorn.Server(config)
    sys.stdout.write(json.dumps({"port": sock.getsockname()[1]}) + "\n")
    sys.stdout.flush()
    server.run(sockets=[sock])


if __name__ == "__main__":
    main()
