"""Both Azure routes with key authentication: exact paths, api-version, headers and bodies."""

from __future__ import annotations

import pytest
from gpt_image_mcp.types import EditRequest, GenerateRequest, InputImage
from gpt_image_mcp_azure import AzureOpenAIProvider

pytestmark = pytest.mark.anyio

API_KEY = "azure-test-key-0123456789abcdefSECRET"
DEPLOYMENT = "images-prod"
API_VERSION = "2025-04-01-preview"
GENERATIONS = f"/openai/deployments/{DEPLOYMENT}/images/generations"


def test_the_constants_match_the_fixtures(cfg) -> None:
    assert (cfg.api_key, cfg.deployment, cfg.api_version) == (API_KEY, DEPLOYMENT, API_VERSION)


async def test_deployment_route_sends_api_key_and_api_version(azure_key, provider, progress, png, response_body):
    picture = png((48, 32))
    azure_key.expect_request(
        GENERATIONS, method="POST", query_string={"api-version": API_VERSION}, headers={"api-key": API_KEY}
    ).respond_with_json(response_body(picture), headers={"apim-request-id": "r1", "x-request-id": "req-azure-1"})

    result = await provider.generate(
        GenerateRequest(model="gpt-image-2", prompt="a lighthouse", size="1536x1024", quality="high"), progress
    )

    (request, _response) = azure_key.log[0]
    assert request.get_json() == {
        "model": DEPLOYMENT,
        "prompt": "a lighthouse",
        "n": 1,
        "size": "1536x1024",
        "quality": "high",
    }
    assert "Authorization" not in request.headers
    assert result.images[0].data == picture
    assert (result.provider, result.model, result.request_id) == ("azure", "gpt-image-2", "req-azure-1")


async def test_custom_api_version_reaches_the_query(azure_key, monkeypatch, provider, progress, png, response_body):
    monkeypatch.setenv("AZURE_OPENAI_API_VERSION", "2025-10-01-preview")
    azure_key.expect_request(
        GENERATIONS, method="POST", query_string={"api-version": "2025-10-01-preview"}
    ).respond_with_json(response_body(png()))

    await provider.generate(GenerateRequest(model="gpt-image-2", prompt="p"), progress)

    assert len(azure_key.log) == 1


async def test_deployment_route_edit_is_multipart_on_the_deployment(azure_key, provider, progress, png, response_body):
    azure_key.expect_request(
        f"/openai/deployments/{DEPLOYMENT}/images/edits",
        method="POST",
        query_string={"api-version": API_VERSION},
        headers={"api-key": API_KEY},
    ).respond_with_json(response_body(png()))
    source = InputImage(data=png((32, 32)), mime_type="image/png", width=32, height=32, filename="photo.png")
    mask = InputImage(data=png((32, 32)), mime_type="image/png", width=32, height=32, has_alpha=True)

    await provider.edit(
        EditRequest(model="gpt-image-2", prompt="add a moon", images=[source], mask=mask, size="1024x1024"), progress
    )

    request = azure_key.log[0][0]
    assert request.form["model"] == DEPLOYMENT
    assert request.form["prompt"] == "add a moon"
    assert request.form["size"] == "1024x1024"
    assert [(f.filename, f.mimetype) for f in request.files.getlist("image[]")] == [("photo.png", "image/png")]
    assert request.files["mask"].filename == "mask.png"


async def test_v1_route_uses_bearer_key_and_the_deployment_as_model(
    azure_key, monkeypatch, provider, progress, png, response_body
):
    monkeypatch.setenv("AZURE_OPENAI_ROUTE", "v1")
    azure_key.expect_request(
        "/openai/v1/images/generations", method="POST", headers={"Authorization": f"Bearer {API_KEY}"}
    ).respond_with_json(response_body(png()))

    result = await provider.generate(GenerateRequest(model="gpt-image-2", prompt="p", n=2), progress)

    request = azure_key.log[0][0]
    assert "api-version" not in request.args
    assert request.get_json() == {"model": DEPLOYMENT, "prompt": "p", "n": 2}
    assert result.model == "gpt-image-2"


def test_endpoint_pasted_with_a_route_is_reduced_to_the_resource(monkeypatch) -> None:
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "https://res.openai.azure.com/openai/v1/")
    monkeypatch.setenv("AZURE_OPENAI_DEPLOYMENT", "d")
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", API_KEY)

    config = AzureOpenAIProvider().client_config()

    assert config.endpoint == "https://res.openai.azure.com"
    assert config.base_url == "https://res.openai.azure.com/openai/deployments/d"


@pytest.mark.parametrize(
    ("deployment", "model_setting", "expected"),
    [
        ("gpt-image-1.5", None, "gpt-image-1.5"),
        ("images-prod", None, "gpt-image-2"),
        ("images-prod", "gpt-image-1-mini", "gpt-image-1-mini"),
    ],
)
def test_the_deployment_decides_the_model(monkeypatch, deployment, model_setting, expected) -> None:
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "https://res.openai.azure.com")
    monkeypatch.setenv("AZURE_OPENAI_DEPLOYMENT", deployment)
    if model_setting:
        monkeypatch.setenv("AZURE_OPENAI_MODEL", model_setting)

    assert AzureOpenAIProvider().default_model() == expected
