"""The OpenAI-compatible base as later plugins (Azure, Together, custom) will use it."""

from __future__ import annotations

from typing import ClassVar

import pytest
from gpt_image_mcp.errors import AuthenticationError
from gpt_image_mcp.types import GenerateRequest
from gpt_image_mcp_openai import ClientConfig, OpenAICompatibleProvider, RetryPolicy

pytestmark = pytest.mark.anyio


class ExampleCompatible(OpenAICompatibleProvider):
    """An upstream that wants `response_format`, takes `seed`, and authenticates with its own variable."""

    name = "example-compatible"
    response_format: ClassVar[str | None] = "b64_json"
    accepts_seed: ClassVar[bool] = True

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base_url = base_url

    def client_config(self) -> ClientConfig:
        return ClientConfig(
            base_url=self.base_url,
            api_key="example-key-123456",
            default_headers={"X-Tenant": "blue"},
            default_query={"api-version": "2025-04-01"},
            retry=RetryPolicy(max_retries=0),
            key_variable="EXAMPLE_API_KEY",
        )


async def test_subclass_switches_reach_the_request(httpserver, progress, response_body, images) -> None:
    httpserver.expect_request("/v1/images/generations").respond_with_json(response_body(images.png()))
    provider = ExampleCompatible(httpserver.url_for("/v1"))

    result = await provider.generate(GenerateRequest(model="flux-dev", prompt="p", seed=11), progress)

    request = httpserver.log[0][0]
    assert request.get_json() == {
        "model": "flux-dev",
        "prompt": "p",
        "n": 1,
        "response_format": "b64_json",
        "seed": 11,
    }
    assert request.headers["X-Tenant"] == "blue"
    assert request.args["api-version"] == "2025-04-01"
    assert result.provider == "example-compatible"
    assert result.notes == []


async def test_subclass_errors_name_its_own_variable_and_mask_its_key(httpserver, progress) -> None:
    body = {"error": {"message": "bad key example-key-123456", "code": "invalid_api_key"}}
    httpserver.expect_request("/v1/images/generations").respond_with_json(body, status=401)

    with pytest.raises(AuthenticationError) as info:
        await ExampleCompatible(httpserver.url_for("/v1")).generate(GenerateRequest(model="m", prompt="p"), progress)

    assert "Check EXAMPLE_API_KEY" in info.value.message
    assert "example-key-123456" not in info.value.message
    assert info.value.provider == "example-compatible"


def test_the_base_needs_a_configuration() -> None:
    class Unfinished(OpenAICompatibleProvider):
        name = "unfinished"

    with pytest.raises(NotImplementedError):
        Unfinished().client_config()
