"""The Together AI provider against core's conformance kit: generate only, so edit and variation must be
refused before any request."""

from __future__ import annotations

import pytest
from gpt_image_mcp.testing import HTTPServerUpstream, ProviderConformance, RecordedRequest, png_bytes
from gpt_image_mcp_together import TogetherProvider

DEFAULT_MODEL = "black-forest-labs/FLUX.1-schnell"


class TogetherUpstream(HTTPServerUpstream):
    """Together's answers: `width`/`height` in, `data[].b64_json` out; NSFW refusals; `GET /models` as a list."""

    def __init__(self, server, response_body) -> None:
        super().__init__(server)
        self.response_body = response_body

    def image_response(self, request: RecordedRequest, n: int, size: tuple[int, int]):
        body = request.json()
        assert (body["width"], body["height"], body["n"]) == (*size, n)
        return self.json_response(self.response_body(*[png_bytes(size)] * n, model=body["model"]))

    def refusal_response(self, message: str):
        body = {"error": {"message": f"Input contains NSFW content. {message}", "type": "invalid_request_error"}}
        return self.json_response(body, status=422)

    def other_response(self, request: RecordedRequest):
        return self.json_response([{"id": DEFAULT_MODEL, "type": "image"}])  # GET /v1/models


class TestTogetherConformance(ProviderConformance):
    plugin_name = "together"

    @pytest.fixture
    def upstream(self, together, response_body):
        return TogetherUpstream(together, response_body)

    @pytest.fixture
    def provider(self, upstream, monkeypatch):
        monkeypatch.setenv("MAX_RETRIES", "0")
        return TogetherProvider()

    @pytest.fixture
    def secret(self, api_key):
        return api_key
