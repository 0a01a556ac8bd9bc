"""The typer app behind `gpt-image-mcp`: serve (default), generate, providers, plugins, config.

`gpt_image_mcp.cli.main` sends every command line here except the plain serve start, which it runs without
importing typer (see `gpt_image_mcp.cli`). The helpers shared by both paths (`_settings`, `_service`,
`_serve`, `_fail`) live in `gpt_image_mcp.cli`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from gpt_image_mcp import cli

if TYPE_CHECKING:
    from gpt_image_mcp.service import CallOutcome, DeliveredImage
    from gpt_image_mcp.types import GeneratedImage, ValidationReport

app = typer.Typer(
    name=cli.PROG_NAME,
    help="MCP server for image generation and editing (OpenAI gpt-image, Azure OpenAI, Together, custom).",
    no_args_is_help=False,
    add_completion=False,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="Show the effective configuration (secrets masked), or check it.")
app.add_typer(config_app, name="config")

EnvFile = Annotated[Path | None, typer.Option("--env-file", help="Read settings from this .env file.")]
ProviderOpt = Annotated[str | None, typer.Option("--provider", help="Provider name(s), comma-separated.")]


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


@app.callback(invoke_without_command=True)
def main_callback(ctx: typer.Context, env_file: EnvFile = None) -> None:
    """Without a command, serve MCP (stdio unless MCP_TRANSPORT=http)."""
    ctx.obj = {"env_file": env_file}
    if ctx.invoked_subcommand is None:
        cli._serve(cli._settings(env_file))


@app.command()
def serve(
    ctx: typer.Context,
    transport: Annotated[str | None, typer.Option(help="stdio or http (env MCP_TRANSPORT).")] = None,
    host: Annotated[str | None, typer.Option(help="HTTP bind address (env HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="HTTP port (env PORT).")] = None,
    provider: ProviderOpt = None,
) -> None:
    """Run the MCP server over stdio or Streamable HTTP."""
    cli._serve(cli._settings(ctx.obj["env_file"], transport=transport, host=host, port=port, provider=provider))


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

    settings = cli._settings(ctx.obj["env_file"], provider=provider)
    service = cli._service(settings)
    _make_output_folder(output, n)  # before anything is paid for

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
        cli._fail(exc.message, 2)
    except ImageMCPError as exc:
        cli._fail(f"{exc.code}: {exc.message}", 1)
    paths, failures = _save_files(outcome, output, service.store.folder)
    for path in paths:
        typer.echo(str(path))
    for note in outcome.notes:
        typer.echo(f"note: {note}", err=True)
    if failures:
        cli._fail("; ".join(failures), 1)


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


def _make_output_folder(output: Path, n: int) -> None:
    """Create the folder `-o` names: `output` itself, or its parent when it names one image's file."""
    if n > 1 and output.suffix.lower() in IMAGE_SUFFIXES and not output.is_dir():
        cli._fail(f"-o {output} names one image file, but {n} images were asked for: give a folder, or -n 1")
    folder = output.parent if _single_file(output, n) else output
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        cli._fail(f"cannot create output folder {folder}: {exc.strerror}")


def _single_file(output: Path, count: int) -> bool:
    return count == 1 and output.suffix != "" and not output.is_dir()


def _save_files(outcome: CallOutcome, output: Path, store_folder: Path) -> tuple[list[Path], list[str]]:
    """Write each image without overwriting anything; `output` is a folder, or a file for one image.

    Returns the paths written and, for each image that could not be written, why and where the image store keeps it.
    """
    from gpt_image_mcp.safe_files import create_unique_file

    images = outcome.result.images
    single_file = _single_file(output, len(images))
    folder = output.parent if single_file else output
    paths, failures = [], []
    for image, delivered in zip(images, outcome.delivered, strict=True):
        stem, suffix = (
            (output.stem, output.suffix) if single_file else (f"image-{delivered.image_id}", f".{image.extension}")
        )
        kept = _where_kept(store_folder, delivered, image)
        try:
            path = create_unique_file(folder, stem, suffix, image.data, attempts=1000)
        except OSError as exc:
            failures.append(f"cannot write {exc.filename}: {exc.strerror}; {kept}")
            continue
        if path is None:
            failures.append(f"no free file name for {stem}{suffix} in {folder}; {kept}")
            continue
        paths.append(path.resolve())
    return paths, failures


def _where_kept(store_folder: Path, delivered: DeliveredImage, image: GeneratedImage) -> str:
    """Where an image that could not be saved where asked is, for the message (this process ends right after)."""
    if not delivered.stored.in_memory:
        return f"the image is kept in the image store as {store_folder / delivered.stored.filename}"
    import tempfile

    from gpt_image_mcp.safe_files import create_unique_file

    stem, suffix = f"gpt-image-mcp-{delivered.image_id}", f".{image.extension}"
    try:
        path = create_unique_file(Path(tempfile.gettempdir()), stem, suffix, image.data)
    except OSError:
        path = None
    if path is not None:
        return f"the image store could not keep it either; it was written to {path}"
    return "the image store and the temporary folder could not keep it either: the image is lost"


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

    service = cli._service(cli._settings(ctx.obj["env_file"], provider=provider))
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
    """Print the plugins as JSON: name, distribution, version, hooks, status (and why one failed)."""
    import dataclasses

    from gpt_image_mcp.errors import ConfigurationError
    from gpt_image_mcp.logs import configure_logging
    from gpt_image_mcp.plugins import load_registry
    from gpt_image_mcp.service import build_model_table, plugin_selection

    settings = cli._settings(ctx.obj["env_file"])
    configure_logging(settings.log_level, settings.log_format)
    # A diagnosis, not a start: every plugin is listed, failed ones with the reason, even in strict mode and
    # whatever PROVIDER says.
    registry = load_registry(dataclasses.replace(plugin_selection(settings), strict=False))
    try:
        build_model_table(registry, settings.model_copy(update={"strict_plugins": False}), user_file=False)
    except ConfigurationError as exc:  # only a broken built-in gets here
        cli._fail(exc.message)
    typer.echo(json.dumps([info.to_dict() for info in registry.plugins], indent=2))


@config_app.callback(invoke_without_command=True)
def config_show(ctx: typer.Context) -> None:
    """Print the effective configuration as JSON, secrets masked."""
    if ctx.invoked_subcommand is None:
        settings = cli._settings(ctx.obj["env_file"])
        typer.echo(json.dumps(settings.model_dump(mode="json"), indent=2))


@config_app.command("check")
def config_check(ctx: typer.Context) -> None:
    """Check the configuration; exit 2 and list every problem when something is wrong."""
    from gpt_image_mcp.http import readiness_problems, readiness_warnings

    settings = cli._settings(ctx.obj["env_file"])
    service = cli._service(settings)
    for warning in readiness_warnings(service):
        typer.echo(f"warning: {warning}", err=True)
    problems = readiness_problems(service)
    if problems:
        cli._fail("configuration problems:\n  " + "\n  ".join(problems))
    loaded = sum(info.status == "loaded" for info in service.registry.plugins)
    typer.echo(f"ok: provider {service.default_provider}, {loaded} plugins loaded")
