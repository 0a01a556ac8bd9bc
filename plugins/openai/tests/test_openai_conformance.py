"""The OpenAI provider against core's conformance kit, with the fake OpenAI of conftest.py."""

from __future__ import annotations

import base64

import pytest
from gpt_image_mcp.testing import HTTPServerUpstream, ProviderConformance, RecordedRequest, png_bytes
from gpt_image_mcp_openai import OpenAIProvider


class OpenAIUpstream(HTTPServerUpstream):
    """The Images API's answers: `data[].b64_json`, errors as `{"error": {...}}`, `GET /models/{id}`."""

    def image_response(self, request: RecordedRequest, n: int, size: tuple[int, int]):
        data = [{"b64_json": base64.b64encode(png_bytes(size)).decode()} for _ in range(n)]
        return self.json_response({"created": 1_790_000_000, "data": data}, headers={"x-request-id": "req_conf"})

    def refusal_response(self, message: str):
        body = {"error": {"message": message, "type": "image_generation_user_error", "code": "moderation_blocked"}}
        return self.json_response(body, status=400)

    def other_response(self, request: RecordedRequest):
        model = request.path.rsplit("/", 1)[-1]
        return self.json_response({"id": model, "object": "model", "created": 0, "owned_by": "openai"})


class TestOpenAIConformance(ProviderConformance):
    plugin_name = "openai"

    @pytest.fixture
    def upstream(self, openai_env):
        return OpenAIUpstream(openai_env)

    @pytest.fixture
    def provider(self, upstream, sleeps, monkeypatch):
        monkeypatch.setenv("MAX_RETRIES", "0")
        return OpenAIProvider(sleep=sleeps)

    @pytest.fixture
    def secret(self, api_key):
        return api_key
