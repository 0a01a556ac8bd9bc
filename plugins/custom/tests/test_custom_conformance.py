"""The custom provider against core's conformance kit, in two shapes: a LiteLLM-like server with its own model
(edits on, `size` as WxH) and a server without edits that takes `width`/`height` (edits refused up front)."""

from __future__ import annotations

import base64

import pytest
from gpt_image_mcp.testing import HTTPServerUpstream, ProviderConformance, RecordedRequest, png_bytes
from gpt_image_mcp_custom import CustomProvider

MODEL = "flux-dev-local"


class CompatibleUpstream(HTTPServerUpstream):
    """An OpenAI-compatible image server: `data[].b64_json`, OpenAI errors, `GET /models` listing MODEL."""

    def image_response(self, request: RecordedRequest, n: int, size: tuple[int, int]):
        assert request.headers.get("Authorization", "").startswith("Bearer ")
        data = [{"b64_json": base64.b64encode(png_bytes(size)).decode()} for _ in range(n)]
        return self.json_response({"created": 1_790_000_000, "data": data})

    def refusal_response(self, message: str):
        body = {"error": {"message": message, "type": "invalid_request_error", "code": "content_policy_violation"}}
        return self.json_response(body, status=400)

    def other_response(self, request: RecordedRequest):
        return self.json_response({"object": "list", "data": [{"id": MODEL, "object": "model"}]})


class TestCustomConformance(ProviderConformance):
    plugin_name = "custom"

    @pytest.fixture
    def upstream(self, custom):
        return CompatibleUpstream(custom)

    @pytest.fixture
    def provider(self, upstream, api_key, monkeypatch):
        monkeypatch.setenv("CUSTOM_OPENAI_API_KEY", api_key)
        monkeypatch.setenv("CUSTOM_OPENAI_MODELS", MODEL)
        monkeypatch.setenv("MAX_RETRIES", "0")
        return CustomProvider()

    @pytest.fixture
    def secret(self, api_key):
        return api_key


class TestCustomWithoutEditsConformance(TestCustomConformance):
    @pytest.fixture
    def provider(self, upstream, api_key, monkeypatch):
        monkeypatch.setenv("CUSTOM_OPENAI_API_KEY", api_key)
        monkeypatch.setenv("CUSTOM_OPENAI_MODELS", MODEL)
        monkeypatch.setenv("CUSTOM_OPENAI_SUPPORTS_EDITS", "false")
        monkeypatch.setenv("CUSTOM_OPENAI_SIZE_STYLE", "width_height")
        monkeypatch.setenv("MAX_RETRIES", "0")
        return CustomProvider()
