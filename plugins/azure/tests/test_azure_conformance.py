"""The Azure OpenAI provider (deployment route, key authentication) against core's conformance kit."""

from __future__ import annotations

import base64

import pytest
from gpt_image_mcp.testing import HTTPServerUpstream, ProviderConformance, RecordedRequest, png_bytes
from gpt_image_mcp_azure import AzureOpenAIProvider


class AzureUpstream(HTTPServerUpstream):
    """A fake Azure OpenAI resource: images under /openai/deployments/<name>/images/..., content filters."""

    def image_response(self, request: RecordedRequest, n: int, size: tuple[int, int]):
        assert "api-version=" in request.query and "api-key" in {name.lower() for name in request.headers}
        data = [{"b64_json": base64.b64encode(png_bytes(size)).decode()} for _ in range(n)]
        return self.json_response({"created": 1_790_000_000, "data": data}, headers={"apim-request-id": "az-conf"})

    def error_response(self, status: int, message: str):
        return self.json_response({"error": {"code": str(status), "message": message}}, status=status)

    def refusal_response(self, message: str):
        body = {
            "error": {
                "code": "content_policy_violation",
                "message": message,
                "inner_error": {
                    "code": "ResponsibleAIPolicyViolation",
                    "content_filter_results": {"violence": {"filtered": True, "severity": "high"}},
                },
            }
        }
        return self.json_response(body, status=400)

    def other_response(self, request: RecordedRequest):
        return self.json_response({"object": "list", "data": []})  # GET /openai/models?api-version=...


class TestAzureConformance(ProviderConformance):
    plugin_name = "azure"

    @pytest.fixture
    def upstream(self, azure_key):
        return AzureUpstream(azure_key)

    @pytest.fixture
    def provider(self, upstream, monkeypatch):
        monkeypatch.setenv("MAX_RETRIES", "0")
        return AzureOpenAIProvider()

    @pytest.fixture
    def secret(self, cfg):
        return cfg.api_key
