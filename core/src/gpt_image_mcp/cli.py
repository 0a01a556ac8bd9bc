"""The `gpt-image-mcp` command: serve (default), generate, providers, plugins, config.

Heavy modules (the MCP SDK, Pillow, provider SDKs) are imported inside the commands, so `--help` is quick.
Exit codes: 0 success, 1 upstream/provider failure, 2 bad input or configuration.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

if TYPE_CHECKING:
    from gpt_image_mcp.service import CallOutcome, ImageService
    from gpt_image_mcp.settings import Settings
    from gpt_image_mcp.types import ValidationReport

app = typer.Typer(
    name="gpt-image-mcp",
    help="MCP server for image generation and editing (OpenAI gpt-image, Azure OpenAI, Together, custom).",
    no_args_is_help=False,
    add_completion=False,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="Show the effective configuration (secrets masked), or check it.")
app.add_typer(config_app, name="config")

EnvFile = Annotated[Path | None, typer.Option("--env-file", help="Read settings from this .env file.")]
ProviderOpt = Annotated[str | None, typer.Option("--provider", help="Provider name(s), comma-separated.")]


def _fail(message: str, code: int = 2) -> NoReturn:
    from gpt_image_mcp.secrets_mask import mask_secrets

    typer.echo(f"gpt-image-mcp: {mask_secrets(message)}", err=True)
    raise typer.Exit(code)


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


@app.callback(invoke_without_command=True)
def main_callback(ctx: typer.Context, env_file: EnvFile = None) -> None:
    """Without a command, serve MCP (stdio unless MCP_TRANSPORT=http)."""
    ctx.obj = {"env_file": env_file}
    if ctx.invoked_subcommand is None:
        _serve(_settings(env_file))


@app.command()
def serve(
    ctx: typer.Context,
    transport: Annotated[str | None, typer.Option(help="stdio or http (env MCP_TRANSPORT).")] = None,
    host: Annotated[str | None, typer.Option(help="HTTP bind address (env HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="HTTP port (env PORT).")] = None,
    provider: ProviderOpt = None,
) -> None:
    """Run the MCP server over stdio or Streamable HTTP."""
    _serve(_settings(ctx.obj["env_file"], transport=transport, host=host, port=port, provider=provider))


def _serve(settings: Settings) -> None:
    """Serve over stdio or HTTP until the client leaves or SIGTERM/SIGINT (HTTP: graceful, exit 0)."""
    import logging

    import anyio

    from gpt_image_mcp.errors import ConfigurationError
    from gpt_image_mcp.logs import configure_logging
    from gpt_image_mcp.secrets_mask import register_settings_secrets
    from gpt_image_mcp.server import build_server

    register_settings_secrets(settings)
    configure_logging(settings.log_level, settings.log_format)
    service = _service(settings)
    server = build_server(service)
    try:
        if settings.metrics_port is not None:
            from gpt_image_mcp.metrics import start_metrics_listener

            try:
                start_metrics_listener(settings.metrics_port)
            except OSError as exc:
                _fail(f"METRICS_PORT {settings.metrics_port}: {exc.strerror or exc}")
            logging.getLogger(__name__).info("Metrics on http://127.0.0.1:%d/metrics", settings.metrics_port)
        if settings.transport == "http":
            from gpt_image_mcp.http import run_http

            run_http(server, service, settings)
        else:

            async def stdio() -> None:
                # Close in the loop the providers' HTTP clients were made in; a new loop cannot close them.
                try:
                    await server.run_stdio_async()
                finally:
                    await service.aclose()

            anyio.run(stdio)
    except KeyboardInterrupt:
        pass
    except ConfigurationError as exc:
        _fail(exc.message)


@app.command()
def generate(
    ctx: typer.Context,
    prompt: Annotated[str, typer.Argument(help="What the image should show.")],
    size: Annotated[str | None, typer.Option(help="WIDTHxHEIGHT or auto.")] = None,
    n: Annotated[int, typer.Option("--n", "-n", help="Number of images.")] = 1,
    quality: Annotated[str | None, typer.Option(help="auto, low, medium, high.")] = None,
    output_format: Annotated[str | None, typer.Option("--format", help="png, jpeg or webp.")] = None,
    background: Annotated[str | None, typer.Option(help="auto, opaque or transparent.")] = None,
    model: Annotated[str | None, typer.Option(help="Model name (default: DEFAULT_MODEL).")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed, where supported.")] = None,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Folder, or file name when generating one image.")
    ] = Path(),
    provider: ProviderOpt = None,
) -> None:
    """Generate images without MCP and save them as files; prints their paths."""
    import anyio

    from gpt_image_mcp.errors import ConfigurationError, ImageMCPError, InvalidRequestError

    settings = _settings(ctx.obj["env_file"], provider=provider)
    service = _service(settings)

    async def run() -> CallOutcome:
        try:
            return await _with_progress(
                service.generate(
                    prompt=prompt,
                    n=n,
                    size=size,
                    quality=quality,
                    output_format=output_format,
                    background=background,
                    model=model,
                    seed=seed,
                )
            )
        finally:
            await service.aclose()

    try:
        outcome = anyio.run(run)
    except (InvalidRequestError, ConfigurationError) as exc:
        _fail(exc.message, 2)
    except ImageMCPError as exc:
        _fail(f"{exc.code}: {exc.message}", 1)
    for path in _save_files(outcome, output):
        typer.echo(str(path))
    for note in outcome.notes:
        typer.echo(f"note: {note}", err=True)


async def _with_progress(call: Any) -> Any:
    """Await `call` while showing elapsed time on stderr (only when stderr is a terminal)."""
    import time

    import anyio

    start = time.monotonic()
    outcome: list[Any] = []

    async def ticker() -> None:
        while True:
            sys.stderr.write(f"\rgenerating... {time.monotonic() - start:5.1f}s")
            sys.stderr.flush()
            await anyio.sleep(0.5)

    async with anyio.create_task_group() as group:
        if sys.stderr.isatty():
            group.start_soon(ticker)
        try:
            outcome.append(await call)
        except Exception as exc:  # re-raised below, outside the task group, unwrapped
            outcome.append(exc)
        group.cancel_scope.cancel()
    if sys.stderr.isatty():
        sys.stderr.write("\r\033[K")
    if isinstance(outcome[0], Exception):
        raise outcome[0]
    return outcome[0]


def _save_files(outcome: CallOutcome, output: Path) -> list[Path]:
    """Write each image without overwriting anything; `output` is a folder, or a file for one image."""
    images = outcome.result.images
    single_file = len(images) == 1 and output.suffix != "" and not output.is_dir()
    folder = output.parent if single_file else output
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        _fail(f"cannot create output folder {folder}: {exc.strerror}")
    paths = []
    for index, image in enumerate(images, start=1):
        if single_file:
            stem, suffix = output.stem, output.suffix
        else:
            stem, suffix = f"image-{outcome.delivered[index - 1].image_id}", f".{image.extension}"
        paths.append(_write_new(folder, stem, suffix, image.data))
    return paths


def _write_new(folder: Path, stem: str, suffix: str, data: bytes) -> Path:
    for attempt in range(1000):
        path = folder / (f"{stem}{suffix}" if attempt == 0 else f"{stem}-{attempt}{suffix}")
        try:
            with path.open("xb") as handle:
                handle.write(data)
        except FileExistsError:
            continue
        except OSError as exc:
            _fail(f"cannot write {path}: {exc.strerror}", 1)
        return path.resolve()
    _fail(f"could not find a free file name for {stem}{suffix} in {folder}", 1)


@app.command()
def providers(
    ctx: typer.Context,
    validate: Annotated[bool, typer.Option("--validate", help="Also check credentials upstream.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    provider: ProviderOpt = None,
) -> None:
    """List the enabled providers and their models (optionally validate them)."""
    import anyio

    from gpt_image_mcp.secrets_mask import mask_secrets
    from gpt_image_mcp.server import _provider_infos

    service = _service(_settings(ctx.obj["env_file"], provider=provider))
    infos = [info.model_dump() for info in _provider_infos(service)]
    failed = False
    if validate:

        async def validate_all() -> list[ValidationReport]:
            try:
                return [await service.providers[info["name"]].validate() for info in infos]
            finally:
                await service.aclose()

        for info, report in zip(infos, anyio.run(validate_all), strict=True):
            for check in report.checks:
                check.detail = mask_secrets(check.detail)
            info["validation"] = report.model_dump()
            failed |= not report.ok
    if as_json:
        typer.echo(json.dumps({"default_provider": service.default_provider, "providers": infos}, indent=2))
    else:
        for info in infos:
            mark = "*" if info["default"] else " "
            state = "configured" if info["configured"] else "not configured: " + "; ".join(info["problems"])
            typer.echo(f"{mark} {info['name']}: {state}")
            typer.echo(f"    models: {', '.join(model['name'] for model in info['models'])}")
            for check in info.get("validation", {}).get("checks", []):
                typer.echo(f"    {'ok  ' if check['ok'] else 'FAIL'} {check['name']}: {check['detail']}")
    if failed:
        raise typer.Exit(1)


@app.command()
def plugins(ctx: typer.Context) -> None:
    """Print the loaded plugins as JSON: name, distribution, version, hooks, status."""
    service = _service(_settings(ctx.obj["env_file"]))
    typer.echo(json.dumps([info.to_dict() for info in service.registry.plugins], indent=2))


@config_app.callback(invoke_without_command=True)
def config_show(ctx: typer.Context) -> None:
    """Print the effective configuration as JSON, secrets masked."""
    if ctx.invoked_subcommand is None:
        settings = _settings(ctx.obj["env_file"])
        typer.echo(json.dumps(settings.model_dump(mode="json"), indent=2))


@config_app.command("check")
def config_check(ctx: typer.Context) -> None:
    """Check the configuration; exit 2 and list every problem when something is wrong."""
    from gpt_image_mcp.http import readiness_problems

    settings = _settings(ctx.obj["env_file"])
    service = _service(settings)
    problems = readiness_problems(service)
    if problems:
        _fail("configuration problems:\n  " + "\n  ".join(problems))
    typer.echo(f"ok: provider {service.default_provider}, {len(service.registry.plugins)} plugins loaded")


def main() -> None:
    app(prog_name="gpt-image-mcp")
