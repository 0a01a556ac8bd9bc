"""Settings: seed-compatible names, .env files, CLI overrides, one message listing every problem."""

from __future__ import annotations

from pathlib import Path

import pytest
from gpt_image_mcp.errors import ConfigurationError
from gpt_image_mcp.settings import load_settings


def test_defaults() -> None:
    settings = load_settings()
    assert settings.provider == [] and settings.transport == "stdio"
    assert (settings.host, settings.port, settings.default_model) == ("127.0.0.1", 3000, "gpt-image-2")


def test_seed_environment_names(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "PROVIDER": "openai, azure",
        "MCP_TRANSPORT": "http",
        "PORT": "8080",
        "DEFAULT_MODEL": "gpt-image-1.5",
        "MCP_API_KEY": "secret-token",
        "USE_ELICITATION": "false",
        "USE_SAMPLING": "0",
        "MAX_REQUESTS_PER_MINUTE": "5",
        "LOG_LEVEL": "warn",
    }.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    assert settings.provider == ["openai", "azure"]
    assert (settings.transport, settings.port, settings.default_model) == ("http", 8080, "gpt-image-1.5")
    assert settings.mcp_api_key is not None and settings.mcp_api_key.get_secret_value() == "secret-token"
    assert not settings.use_elicitation and not settings.use_sampling
    assert settings.max_requests_per_minute == 5 and settings.log_level == "warning"
    assert "secret-token" not in settings.model_dump_json()


def test_cli_overrides_beat_environment_which_beats_dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("PORT=4000\nHOST=0.0.0.0\nDEFAULT_MODEL=gpt-image-1-mini\n")
    monkeypatch.setenv("PORT", "5000")
    settings = load_settings(host="127.0.0.2")
    assert (settings.port, settings.host, settings.default_model) == (5000, "127.0.0.2", "gpt-image-1-mini")


def test_explicit_env_file(tmp_path: Path) -> None:
    env = tmp_path / "custom.env"
    env.write_text("PROVIDER=offline\n")
    assert load_settings(env).provider == ["offline"]
    with pytest.raises(ConfigurationError, match="does not exist"):
        load_settings(tmp_path / "missing.env")


def test_every_problem_is_listed_by_variable_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "70000")
    monkeypatch.setenv("MCP_TRANSPORT", "carrier-pigeon")
    monkeypatch.setenv("LOG_LEVEL", "loud")
    with pytest.raises(ConfigurationError) as info:
        load_settings()
    message = info.value.message
    assert "PORT:" in message and "MCP_TRANSPORT:" in message and "LOG_LEVEL:" in message


def test_stray_variables_named_like_fields_are_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRANSPORT", "http")
    monkeypatch.setenv("PLUGINS", "nothing")
    monkeypatch.setenv("STRICT_PLUGINS", "1")
    settings = load_settings()
    assert (settings.transport, settings.plugins, settings.strict_plugins) == ("stdio", None, False)


def test_mcp_api_key_is_trimmed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MCP_API_KEY", "abcdefgh\n")
    settings = load_settings()
    assert settings.mcp_api_key is not None and settings.mcp_api_key.get_secret_value() == "abcdefgh"


@pytest.mark.parametrize("value", ["", "   "])
def test_a_blank_host_binds_loopback_not_every_interface(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("HOST", value)
    assert load_settings().host == "127.0.0.1"
    monkeypatch.setenv("HOST", " 0.0.0.0 ")
    assert load_settings().host == "0.0.0.0"


def test_env_files_that_cannot_be_read_are_clear_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    binary = tmp_path / "binary.env"
    binary.write_bytes(b"\xff\xfe\x00PORT=1\x80")
    with pytest.raises(ConfigurationError, match="is not UTF-8 text"):
        load_settings(binary)
    with pytest.raises(ConfigurationError, match="is not a file"):
        load_settings(tmp_path)
    (tmp_path / ".env").write_bytes(b"\xff\xfe")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigurationError, match=r"env file \.env is not UTF-8 text"):
        load_settings()


@pytest.mark.parametrize("name", ["MCP_API_KEY_FILE", "OPENAI_API_KEY_FILE"])
def test_key_files_that_are_devices_or_pipes_are_refused_at_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str
) -> None:
    import os

    from gpt_image_mcp_openai import OpenAIProvider

    os.mkfifo(tmp_path / "pipe")
    for path in ("/dev/zero", str(tmp_path / "pipe")):
        monkeypatch.setenv(name, path)
        if name == "MCP_API_KEY_FILE":
            with pytest.raises(ConfigurationError, match="is not a regular file"):
                load_settings()
        else:
            (problem,) = OpenAIProvider().configuration_problems()
            assert problem.startswith(f"{name}: {path} is not a regular file")


def test_a_nul_byte_in_an_env_file_is_a_clear_error(tmp_path: Path) -> None:
    env = tmp_path / "nul.env"
    env.write_bytes(b"PORT=3000\nODD=a\x00b\n")
    with pytest.raises(ConfigurationError, match="env file"):
        load_settings(env)


def test_an_empty_plugin_allow_list_still_allows_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GPT_IMAGE_MCP_PLUGINS", "")
    assert load_settings().plugins == []
