"""The plain serve start without typer (`gpt_image_mcp.cli.fast_serve_args`): the same call typer would make."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from gpt_image_mcp import cli
from gpt_image_mcp.commands import app

SETTINGS = object()

#: Argument lists the fast path takes: typer would serve with the same settings for each.
TAKEN = [
    [],
    ["serve"],
    ["--env-file", "x.env"],
    ["--env-file=x.env"],
    ["--env-file", "x.env", "serve"],
    ["serve", "--transport", "http"],
    ["serve", "--transport=stdio", "--port", "8123"],
    ["serve", "--port=0042", "--host", "0.0.0.0", "--provider", "openai,azure"],
    ["--env-file=dir/a b.env", "serve", "--provider=offline", "--transport", "pigeon", "--host=h", "--port=1"],
    ["--env-file", "serve"],  # the value of --env-file, no command: typer reads it the same way
]

#: Argument lists left to typer: help, other commands, anything unusual or malformed.
DECLINED = [
    ["--help"],
    ["-h"],
    ["serve", "--help"],
    ["generate", "fox"],
    ["config"],
    ["plugins"],
    ["serve", "serve"],
    ["serve", "extra"],
    ["--"],
    ["serve", "--env-file", "x.env"],
    ["--env-file", "a.env", "--env-file", "b.env"],
    ["serve", "--port", "1", "--port", "2"],
    ["serve", "--port", "x"],
    ["serve", "--port", "-1"],
    ["serve", "--port", "+1"],
    ["serve", "--port", "１２"],  # fullwidth digits: isdigit, but not ASCII
    ["serve", "--port", " 1"],
    ["serve", "--host"],
    ["serve", "--transport", ""],
    ["serve", "--transport="],
    ["serve", "--host", "--port"],
    ["--env-file"],
    ["--env-file", "-"],
    ["serve", "--trans", "http"],
    ["serve", "--transport", "http", "--verbose"],
    ["--transport", "http"],
]


def _record(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    calls: list[tuple[str, Any]] = []

    def settings(env_file: Path | None = None, **overrides: Any) -> object:
        calls.append(("settings", (env_file, overrides)))
        return SETTINGS

    monkeypatch.setattr(cli, "_settings", settings)
    monkeypatch.setattr(cli, "_serve", lambda settings: calls.append(("serve", settings)))
    return calls


@pytest.mark.parametrize("argv", TAKEN, ids=" ".join)
def test_the_fast_path_serves_exactly_as_typer_would(monkeypatch: pytest.MonkeyPatch, argv: list[str]) -> None:
    calls = _record(monkeypatch)
    app(argv, prog_name=cli.PROG_NAME, standalone_mode=False)
    by_typer = list(calls)
    calls.clear()

    args = cli.fast_serve_args(argv, {})
    assert args is not None
    cli._serve(args.settings())

    assert calls == by_typer
    assert [kind for kind, _ in calls] == ["settings", "serve"] and calls[1][1] is SETTINGS


@pytest.mark.parametrize("argv", DECLINED, ids=" ".join)
def test_everything_else_is_left_to_typer(argv: list[str]) -> None:
    assert cli.fast_serve_args(argv, {}) is None


def test_shell_completion_is_left_to_typer() -> None:
    assert cli.fast_serve_args([], {cli.COMPLETE_VAR: "bash_complete"}) is None
    assert cli.fast_serve_args([], {cli.COMPLETE_VAR: ""}) is not None


def test_main_takes_the_fast_path_without_importing_typer() -> None:
    code = (
        "import sys; from gpt_image_mcp import cli; "
        "cli._serve = lambda s: print(s.transport, s.port, sorted(m for m in ('typer', 'click', 'rich') "
        "if m in sys.modules)); sys.argv = ['gpt-image-mcp', 'serve', '--transport', 'http', '--port', '8123']; "
        "cli.main()"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "http 8123 []"


def test_main_sends_the_rest_to_typer(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "argv", ["gpt-image-mcp", "serve", "--help"])
    with pytest.raises(SystemExit) as exited:
        cli.main()
    assert exited.value.code == 0
    assert "--transport" in capsys.readouterr().out


def test_a_bad_option_exits_2_with_typers_message() -> None:
    script = str(Path(sys.executable).parent / "gpt-image-mcp")
    result = subprocess.run([script, "serve", "--port", "x"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "Invalid value for '--port'" in result.stderr


def test_configuration_errors_on_the_fast_path_exit_2_with_the_message(tmp_path: Path) -> None:
    script = str(Path(sys.executable).parent / "gpt-image-mcp")
    result = subprocess.run(
        [script, "--env-file", str(tmp_path / "missing.env"), "serve", "--transport", "stdio"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr == f"gpt-image-mcp: env file {tmp_path / 'missing.env'} does not exist\n"


def test_the_moved_typer_app_is_still_reachable_from_cli() -> None:
    assert cli.app is app
    with pytest.raises(AttributeError):
        cli.no_such_name  # noqa: B018
