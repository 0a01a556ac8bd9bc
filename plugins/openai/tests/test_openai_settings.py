"""Configuration, provider_validate, plugin discovery and lazy import of the SDK."""

from __future__ import annotations

import subprocess
import sys

import pytest
from gpt_image_mcp.errors import ConfigurationError
from gpt_image_mcp.plugins import load_registry
from gpt_image_mcp.types import GenerateRequest
from gpt_image_mcp_openai import OpenAIProvider

MODEL = {"id": "gpt-image-2", "object": "model", "created": 1_790_000_000, "owned_by": "system"}


def test_without_a_key_the_provider_is_not_configured_and_says_what_to_set() -> None:
    provider = OpenAIProvider()

    assert provider.has_credentials() is False
    assert provider.is_configured() is False
    (problem,) = provider.configuration_problems()
    assert "OPENAI_API_KEY" in problem
    assert "OPENAI_API_KEY_FILE" in problem


def test_key_from_environment(monkeypatch, api_key) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", api_key)
    provider = OpenAIProvider()

    assert provider.has_credentials() is True
    assert provider.configuration_problems() == []
    config = provider.client_config()
    assert (config.api_key, config.base_url, config.timeout) == (api_key, "https://api.openai.com/v1", 600.0)
    assert (config.retry.max_retries, config.retry.max_wait) == (3, 60.0)


def test_key_from_file(monkeypatch, tmp_path, api_key) -> None:
    key_file = tmp_path / "openai.key"
    key_file.write_text(f"  {api_key}\n", encoding="utf-8")
    monkeypatch.setenv("OPENAI_API_KEY_FILE", str(key_file))

    provider = OpenAIProvider()

    assert provider.has_credentials() is True
    assert provider.client_config().api_key == api_key


@pytest.mark.parametrize(("content", "expected"), [(None, "does not exist"), ("", "is empty")])
def test_unreadable_key_file_is_a_configuration_problem(monkeypatch, tmp_path, content, expected) -> None:
    key_file = tmp_path / "openai.key"
    if content is not None:
        key_file.write_text(content, encoding="utf-8")
    monkeypatch.setenv("OPENAI_API_KEY_FILE", str(key_file))
    provider = OpenAIProvider()

    assert provider.has_credentials() is True  # the user meant OpenAI: select it, then report
    (problem,) = provider.configuration_problems()
    assert problem.startswith("OPENAI_API_KEY_FILE: ")
    assert expected in problem
    with pytest.raises(ConfigurationError, match="openai provider is not configured"):
        provider.client_config()


@pytest.mark.parametrize("value", ["inf", "nan", "-inf"])
def test_timeouts_must_be_finite(monkeypatch, api_key, value: str) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", api_key)
    monkeypatch.setenv("OPENAI_TIMEOUT", value)

    (problem,) = OpenAIProvider().configuration_problems()

    assert problem.startswith("OPENAI_TIMEOUT:") and "finite" in problem


def test_invalid_numbers_name_their_variable(monkeypatch, api_key) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", api_key)
    monkeypatch.setenv("OPENAI_TIMEOUT", "soon")
    monkeypatch.setenv("MAX_RETRIES", "-1")

    problems = OpenAIProvider().configuration_problems()

    assert any(p.startswith("OPENAI_TIMEOUT:") and "'soon'" in p for p in problems)
    assert any(p.startswith("MAX_RETRIES:") for p in problems)
    assert all(api_key not in p for p in problems)


@pytest.mark.parametrize("url", ["notaurl", "api.openai.com/v1", "ftp://host/v1", "http://"])
def test_a_base_url_that_is_no_http_url_is_a_configuration_problem(monkeypatch, api_key, url: str) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", api_key)
    monkeypatch.setenv("OPENAI_BASE_URL", url)

    (problem,) = OpenAIProvider().configuration_problems()

    assert problem.startswith("OPENAI_BASE_URL: must be an http(s) URL such as https://api.openai.com/v1")


def test_blank_base_url_means_the_default(monkeypatch, api_key) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", api_key)
    monkeypatch.setenv("OPENAI_BASE_URL", "")

    assert OpenAIProvider().client_config().base_url == "https://api.openai.com/v1"


@pytest.mark.anyio
async def test_generate_without_configuration_raises_configuration_error(progress) -> None:
    with pytest.raises(ConfigurationError, match="OPENAI_API_KEY"):
        await OpenAIProvider().generate(GenerateRequest(model="gpt-image-2", prompt="p"), progress)


@pytest.mark.anyio
async def test_organization_and_project_headers(openai_env, monkeypatch, progress, response_body, images) -> None:
    monkeypatch.setenv("OPENAI_ORGANIZATION", "org-123")
    monkeypatch.setenv("OPENAI_PROJECT", "proj_456")
    openai_env.expect_request("/v1/images/generations").respond_with_json(response_body(images.png()))

    await OpenAIProvider().generate(GenerateRequest(model="gpt-image-2", prompt="p"), progress)

    headers = openai_env.log[0][0].headers
    assert (headers["OpenAI-Organization"], headers["OpenAI-Project"]) == ("org-123", "proj_456")


@pytest.mark.anyio
async def test_client_is_created_once_and_closed(openai_env, provider, progress, response_body, images) -> None:
    openai_env.expect_request("/v1/images/generations").respond_with_json(response_body(images.png()))

    await provider.generate(GenerateRequest(model="gpt-image-2", prompt="p"), progress)
    first = provider.client()
    await provider.generate(GenerateRequest(model="gpt-image-2", prompt="p"), progress)

    assert provider.client() is first
    await provider.aclose()
    assert first.is_closed()


# -- provider_validate -----------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_validate_success_makes_one_get_and_generates_nothing(openai_env, provider) -> None:
    openai_env.expect_request("/v1/models/gpt-image-2", method="GET").respond_with_json(MODEL)

    report = await provider.validate()

    assert report.ok
    assert [(c.name, c.ok) for c in report.checks] == [
        ("configuration", True),
        ("reachable", True),
        ("credentials", True),
        ("model", True),
    ]
    assert [(r.method, r.path) for r, _ in openai_env.log] == [("GET", "/v1/models/gpt-image-2")]


@pytest.mark.anyio
async def test_validate_against_a_web_page_is_not_ok(openai_env, provider) -> None:
    openai_env.expect_request("/v1/models/gpt-image-2").respond_with_data(
        "<html>sign in</html>", content_type="text/html"
    )

    report = await provider.validate()

    assert not report.ok
    (reachable,) = [check for check in report.checks if check.name == "reachable"]
    assert not reachable.ok and "answered with text/html, not a model object" in reachable.detail


@pytest.mark.anyio
@pytest.mark.parametrize("body", [{}, {"error": {"message": "x"}}, [1, 2, 3]])
async def test_validate_against_json_that_is_no_model_is_not_ok(openai_env, provider, body) -> None:
    openai_env.expect_request("/v1/models/gpt-image-2").respond_with_json(body)

    report = await provider.validate()

    assert not report.ok and "not a model object" in report.checks[1].detail


@pytest.mark.anyio
async def test_validate_reads_at_most_a_mebibyte(openai_env, provider) -> None:
    openai_env.expect_request("/v1/models/gpt-image-2").respond_with_data(
        b'{"id": "' + b"x" * (2 * 1024 * 1024) + b'"}', content_type="application/json"
    )

    report = await provider.validate()

    assert not report.ok and "answered with more than 1 MiB" in report.checks[1].detail


@pytest.mark.anyio
async def test_validate_checks_the_default_model(openai_env, provider, monkeypatch) -> None:
    monkeypatch.setenv("DEFAULT_MODEL", "gpt-image-1.5")
    openai_env.expect_request("/v1/models/gpt-image-1.5").respond_with_json(MODEL | {"id": "gpt-image-1.5"})

    assert (await provider.validate()).ok


@pytest.mark.anyio
async def test_validate_reports_an_invalid_key(openai_env, provider, api_key) -> None:
    body = {"error": {"message": f"Incorrect API key provided: {api_key}", "code": "invalid_api_key"}}
    openai_env.expect_request("/v1/models/gpt-image-2").respond_with_json(body, status=401)

    report = await provider.validate()

    assert not report.ok
    checks = {c.name: c for c in report.checks}
    assert checks["reachable"].ok
    assert not checks["credentials"].ok
    assert "OPENAI_API_KEY is invalid or revoked" in checks["credentials"].detail
    assert api_key not in checks["credentials"].detail
    assert len(openai_env.log) == 1


@pytest.mark.anyio
async def test_validate_reports_an_unavailable_model(openai_env, provider) -> None:
    body = {"error": {"message": "The model `gpt-image-2` does not exist", "code": "model_not_found"}}
    openai_env.expect_request("/v1/models/gpt-image-2").respond_with_json(body, status=404)

    report = await provider.validate()

    checks = {c.name: c for c in report.checks}
    assert (checks["reachable"].ok, checks["credentials"].ok, checks["model"].ok) == (True, True, False)
    assert "model gpt-image-2 is not available" in checks["model"].detail


@pytest.mark.anyio
async def test_validate_reports_an_unreachable_base_url(monkeypatch, api_key) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", api_key)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")

    report = await OpenAIProvider().validate()

    assert not report.ok
    (_, reachable) = report.checks
    assert reachable.name == "reachable"
    assert not reachable.ok
    assert "cannot reach http://127.0.0.1:9/v1" in reachable.detail


@pytest.mark.anyio
async def test_validate_without_key_makes_no_call(httpserver) -> None:
    report = await OpenAIProvider().validate()

    assert not report.ok
    assert [c.name for c in report.checks] == ["configuration"]
    assert "OPENAI_API_KEY" in report.checks[0].detail
    assert httpserver.log == []


# -- packaging -----------------------------------------------------------------------------------------


def test_plugin_is_found_through_its_entry_point() -> None:
    registry = load_registry()

    assert isinstance(registry.providers["openai"], OpenAIProvider)
    info = next(p for p in registry.plugins if p.name == "openai")
    assert (info.distribution, info.version, info.status) == ("gpt-image-mcp-openai", "0.1.0", "loaded")
    assert info.hooks == ["register_providers"]


def test_loading_the_plugin_does_not_import_the_sdk() -> None:
    code = (
        "import sys\n"
        "from gpt_image_mcp.plugins import load_registry\n"
        "registry = load_registry()\n"
        "provider = registry.providers['openai']\n"
        "provider.has_credentials(); provider.configuration_problems()\n"
        "print('openai' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)

    assert result.stdout.strip() == "False"


def test_stray_variables_named_like_fields_are_not_read(monkeypatch) -> None:
    from gpt_image_mcp_openai.settings import OpenAISettings

    for name, value in {"API_KEY": "sk-stray", "PROJECT": "stray", "TIMEOUT": "5", "BASE_URL": "http://stray"}.items():
        monkeypatch.setenv(name, value)
    settings = OpenAISettings()
    assert (settings.api_key, settings.project, settings.timeout, settings.base_url) == (None, None, 600.0, None)


def test_messages_name_the_variable_the_key_came_from(monkeypatch, tmp_path, api_key) -> None:
    (tmp_path / "key").write_text(api_key, encoding="utf-8")
    monkeypatch.setenv("OPENAI_API_KEY_FILE", str(tmp_path / "key"))
    assert OpenAIProvider().client_config().key_variable == "OPENAI_API_KEY_FILE"
    monkeypatch.setenv("OPENAI_API_KEY", api_key)
    assert OpenAIProvider().client_config().key_variable == "OPENAI_API_KEY"


def test_a_password_in_an_invalid_base_url_is_not_shown(monkeypatch, api_key) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", api_key)
    monkeypatch.setenv("OPENAI_BASE_URL", "htps://user:GatewayPass99@gw.example/v1")

    (problem,) = OpenAIProvider().configuration_problems()

    assert "GatewayPass99" not in problem and "user:***@" in problem
