"""The `gpt-image-mcp` command: serve (default), generate, providers, plugins, config.

The commands are a typer app (`gpt_image_mcp.commands`). The plain start an MCP client makes —
`gpt-image-mcp [--env-file F]` or `gpt-image-mcp [--env-file F] serve [--transport T] [--host H] [--port N]
[--provider P]` with well-formed values — does not need typer to parse it: `main` recognises exactly those
argument lists (`fast_serve_args`) and serves without importing typer, which would add ~11 ms to every start
(click is imported by the MCP SDK anyway). Everything else (`--help`, other commands, anything malformed or
unusual) goes to typer, so its messages and exit codes stay what they are. Heavy modules (the MCP SDK, Pillow,
provider SDKs) are imported inside the commands, so `--help` is quick.
Exit codes: 0 success, 1 upstream/provider failure, 2 bad input or configuration.
"""

from __future__ import annotations

import errno
import gc
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from gpt_image_mcp.service import ImageService
    from gpt_image_mcp.settings import Settings

PROG_NAME = "gpt-image-mcp"
#: Set by a shell asking typer for completions: then typer must see the arguments.
COMPLETE_VAR = "_GPT_IMAGE_MCP_COMPLETE"
#: The `serve` options and how their values are converted (as typer converts them).
SERVE_OPTIONS: dict[str, type] = {"--transport": str, "--host": str, "--port": int, "--provider": str}


def _fail(message: str, code: int = 2) -> NoReturn:
    """Print `gpt-image-mcp: <message>` (secrets masked) on stderr and exit with `code`."""
    from gpt_image_mcp.secrets_mask import mask_secrets

    sys.stderr.write(f"{PROG_NAME}: {mask_secrets(message)}\n")
    sys.stderr.flush()
    raise SystemExit(code)


def _settings(env_file: Path | None = None, **overrides: Any) -> Settings:
    from gpt_image_mcp.errors import ConfigurationError
    from gpt_image_mcp.settings import load_settings

    try:
        return load_settings(env_file, **overrides)
    except ConfigurationError as exc:
        _fail(exc.message)


def _service(settings: Settings) -> ImageService:
    from gpt_image_mcp.errors import ConfigurationError, PluginError
    from gpt_image_mcp.logs import configure_logging
    from gpt_image_mcp.service import ImageService

    configure_logging(settings.log_level, settings.log_format)
    try:
        return ImageService.create(settings)
    except ConfigurationError as exc:
        _fail(exc.message)
    except PluginError as exc:
        _fail(str(exc))


def _serve(settings: Settings) -> None:
    """Serve over stdio or HTTP until the client leaves or SIGTERM/SIGINT (HTTP: graceful, exit 0)."""
    import logging

    import anyio

    from gpt_image_mcp.errors import ConfigurationError
    from gpt_image_mcp.logs import configure_logging
    from gpt_image_mcp.memory import keep_large_blocks_on_mmap
    from gpt_image_mcp.secrets_mask import register_settings_secrets
    from gpt_image_mcp.server import build_server

    register_settings_secrets(settings)
    configure_logging(settings.log_level, settings.log_format)
    keep_large_blocks_on_mmap()
    service = _service(settings)
    server = build_server(service)
    # What start-up built (modules, schemas, plugins) lives as long as the process: out of the collector's way,
    # a full collection no longer walks it (about 70 ms of a stalled event loop each time, measured).
    gc.freeze()
    try:
        if settings.metrics_port is not None:
            from gpt_image_mcp.metrics import start_metrics_listener

            try:
                start_metrics_listener(settings.metrics_port, api_key=settings.metrics_api_key)
            except OSError as exc:
                _fail(f"METRICS_PORT {settings.metrics_port}: {exc.strerror or exc}")
            logging.getLogger(__name__).info("Metrics on http://127.0.0.1:%d/metrics", settings.metrics_port)
        if settings.transport == "http":
            from gpt_image_mcp.http import run_http

            run_http(server, service, settings)
        else:
            from gpt_image_mcp.stdio import run_stdio

            anyio.run(run_stdio, server, service, settings.shutdown_grace_seconds)
    except KeyboardInterrupt:
        pass
    except ConfigurationError as exc:
        _fail(exc.message)


@dataclass(frozen=True)
class ServeArgs:
    """A plain serve start: `serve` False is the start without a command (`options` then empty)."""

    env_file: Path | None = None
    serve: bool = False
    options: dict[str, Any] = field(default_factory=dict)

    def settings(self) -> Settings:
        """The settings exactly as typer's `main_callback` / `serve` build them for these arguments."""
        if not self.serve:
            return _settings(self.env_file)
        names = {name: None for name in (option.removeprefix("--") for option in SERVE_OPTIONS)}
        return _settings(self.env_file, **(names | self.options))


def fast_serve_args(argv: Sequence[str], environ: Mapping[str, str]) -> ServeArgs | None:
    """The plain serve start that `argv` asks for, or None when typer must parse `argv`.

    Taken: `[--env-file F] [serve [--transport T] [--host H] [--port N] [--provider P]]`, each option at most
    once, as `--name value` or `--name=value`, with values that are not empty and do not start with `-`, and a
    port of ASCII digits. For these typer would call `_serve` with the same values; for anything else
    (help, other commands, repeated, unknown or malformed options, shell completion) it is left to typer,
    which also prints the error and exits 2 where the arguments are wrong.
    """
    if environ.get(COMPLETE_VAR):
        return None
    env_file: Path | None = None
    serve = False
    options: dict[str, Any] = {}
    seen: set[str] = set()
    index = 0
    while index < len(argv):
        arg = argv[index]
        index += 1
        if arg == "serve" and not serve:
            serve = True
            continue
        name, has_value, value = arg.partition("=")
        allowed = SERVE_OPTIONS if serve else {"--env-file": Path}
        if name not in allowed or name in seen:
            return None
        if not has_value:
            if index >= len(argv):
                return None
            value = argv[index]
            index += 1
        if not value or value.startswith("-"):
            return None
        convert = allowed[name]
        if convert is int and not (value.isascii() and value.isdigit()):
            return None
        seen.add(name)
        if name == "--env-file":
            env_file = Path(value)
        else:
            options[name.removeprefix("--")] = convert(value)
    return ServeArgs(env_file=env_file, serve=serve, options=options)


def _serve_fast(args: ServeArgs) -> None:
    """Serve as typer would for these arguments, with its handling of interrupts and closed pipes."""
    try:
        _serve(args.settings())
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    except EOFError:
        sys.stderr.write("\nAborted.\n")
        raise SystemExit(1) from None
    except OSError as exc:
        if exc.errno != errno.EPIPE:
            raise
        from typer._click.utils import PacifyFlushWrapper  # as typer does: no second error at exit

        sys.stdout = PacifyFlushWrapper(sys.stdout)  # type: ignore[assignment]
        sys.stderr = PacifyFlushWrapper(sys.stderr)  # type: ignore[assignment]
        raise SystemExit(1) from None


def main() -> None:
    """The console script: a plain serve start directly, everything else through the typer app."""
    args = fast_serve_args(sys.argv[1:], os.environ)
    if args is not None:
        _serve_fast(args)
        return
    from gpt_image_mcp.commands import app

    app(prog_name=PROG_NAME)


#: Names that moved to `gpt_image_mcp.commands` with the typer app; still importable from here.
MOVED_TO_COMMANDS = frozenset({"app", "config_app", "generate", "providers", "plugins", "config_show", "config_check"})


def __getattr__(name: str) -> Any:
    """The moved names, imported from `gpt_image_mcp.commands` (and so typer) only when asked for."""
    if name in MOVED_TO_COMMANDS:
        from gpt_image_mcp import commands

        return getattr(commands, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
