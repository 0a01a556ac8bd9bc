"""Asking the client: elicitation, sampling and roots, in both protocol eras, never waiting in vain.

Each helper here is a resolver (`Annotated[T, Resolve(fn)]` on a tool parameter): it returns a request
marker when the question is worth asking and the client can answer it, or a plain value (None) to go on
with defaults at once. On 2025-11-25 connections the question is a server-to-client request mid-call, so
it is only asked when the transport can carry one (not on stateless or JSON-response HTTP); on 2026-07-28
connections it rides an "input required" result that the client answers by calling again.

The resolvers are `async def` although they do not await: the SDK runs a plain `def` resolver in a worker
thread, a thread hop per resolver on every call (measurable latency under load, see docs/performance.md).
"""

from __future__ import annotations

import functools
import logging
import re
import unicodedata
import warnings
from typing import TYPE_CHECKING, Any, Literal

import anyio
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.resolve import Elicit, ListRoots, Sample
from mcp.shared.exceptions import MCPDeprecationWarning
from mcp_types import CreateMessageResult, SamplingMessage, TextContent
from mcp_types.version import is_version_at_least
from pydantic import BaseModel, Field, ModelWrapValidatorHandler, ValidationError, create_model, model_validator

from gpt_image_mcp.capabilities import ModelCapabilities
from gpt_image_mcp.errors import ImageMCPError
from gpt_image_mcp.inputs import looks_like_path

if TYPE_CHECKING:
    from gpt_image_mcp.service import ImageService

logger = logging.getLogger(__name__)

MODERN_PROTOCOL = "2026-07-28"
SAMPLING_MAX_TOKENS = 600
SAMPLING_TIMEOUT_SECONDS = 30.0
Capability = Literal["elicitation", "sampling", "roots"]


def _service(ctx: Context) -> ImageService:
    service = getattr(ctx.mcp_server, "service", None)
    assert service is not None, "tools of gpt-image-mcp run on ImageMCPServer"
    return service


def is_modern(ctx: Context) -> bool:
    version = ctx.protocol_version
    return version is not None and is_version_at_least(version, MODERN_PROTOCOL)


def can_ask(ctx: Context, capability: Capability) -> bool:
    """Whether the client declared `capability` and the connection can carry the question now."""
    declared = ctx.client_capabilities
    feature = getattr(declared, capability, None) if declared is not None else None
    if feature is None:
        return False
    if capability == "elicitation" and not (feature.form is not None or feature.url is None):
        return False  # url-only elicitation cannot show a form
    if is_modern(ctx):
        return True
    try:
        return bool(ctx.session.can_send_request)
    except Exception:  # no session (direct calls): nobody to ask
        return False


# -- roots -----------------------------------------------------------------------------------------------


def _needs_workspace(ctx: Context, save_to_workspace: bool, sinks: list[str] | None) -> bool:
    defaults = _service(ctx).settings.default_sinks
    return save_to_workspace or "workspace" in (sinks if sinks is not None else defaults)


def _ask_roots(ctx: Context, wanted: bool) -> ListRoots | None:
    return ListRoots() if wanted and can_ask(ctx, "roots") else None


async def roots_for_generate(ctx: Context, save_to_workspace: bool, sinks: list[str] | None) -> ListRoots | None:
    """Roots matter for generate only when images are saved to the workspace."""
    return _ask_roots(ctx, _needs_workspace(ctx, save_to_workspace, sinks))


async def roots_for_edit(
    ctx: Context,
    save_to_workspace: bool,
    sinks: list[str] | None,
    image: str | None,
    images: list[str] | None,
    mask: str | None,
) -> ListRoots | None:
    """...and for edits also when an input is a file path (it must lie inside a root)."""
    references = [value for value in (image, mask, *(images or [])) if value]
    wanted = _needs_workspace(ctx, save_to_workspace, sinks) or any(looks_like_path(ref.strip()) for ref in references)
    return _ask_roots(ctx, wanted)


async def roots_for_variation(
    ctx: Context, save_to_workspace: bool, sinks: list[str] | None, image: str
) -> ListRoots | None:
    return _ask_roots(ctx, _needs_workspace(ctx, save_to_workspace, sinks) or looks_like_path(image.strip()))


# -- elicitation -----------------------------------------------------------------------------------------


class ImageSettingsChoice(BaseModel):
    """Base of the per-model forms; the fields are built from the capability table.

    An answer is taken field by field: a value the form did not offer (a client that sends junk, a wrong type)
    is dropped and that field keeps its default, instead of failing the whole call after the user answered.
    """

    @model_validator(mode="wrap")
    @classmethod
    def _take_what_is_valid(cls, data: Any, handler: ModelWrapValidatorHandler[ImageSettingsChoice]) -> Any:
        try:
            return handler(data)
        except ValidationError as exc:
            wrong = {str(error["loc"][0]) for error in exc.errors() if error["loc"]}
            logger.warning("Ignoring invalid answers to the image settings question: %s", ", ".join(sorted(wrong)))
            kept = {key: value for key, value in data.items() if key not in wrong} if isinstance(data, dict) else {}
            return handler(kept)


@functools.lru_cache(maxsize=256)
def settings_form(model: str, sizes: tuple[str, ...], qualities: tuple[str, ...]) -> type[ImageSettingsChoice]:
    """A form with only the missing fields, offering only values the model accepts.

    Cached so that a question renders identically on every round of a 2026-07-28 call.
    """
    fields: dict[str, Any] = {}
    if sizes:
        fields["size"] = (
            Literal[sizes],  # type: ignore[valid-type]
            Field(sizes[0], title="Size", description=f"Image size for {model} (width x height)"),
        )
    if qualities:
        fields["quality"] = (
            Literal[qualities],  # type: ignore[valid-type]
            Field(qualities[0], title="Quality", description="Higher quality takes longer and costs more"),
        )
    name = "ImageSettings_" + re.sub(r"\W", "_", model)
    return create_model(name, __base__=ImageSettingsChoice, **fields)


def _model_capabilities(ctx: Context, provider: str | None, model: str | None) -> ModelCapabilities | None:
    service = _service(ctx)
    try:
        _, caps, _ = service.resolve_model(service.provider(provider), model)
    except ImageMCPError:
        return None  # the call itself will report the problem; no question for a call that cannot run
    return caps


async def ask_image_settings(
    ctx: Context,
    provider: str | None,
    model: str | None,
    size: str | None,
    quality: str | None,
    skip_elicitation: bool,
) -> Elicit[ImageSettingsChoice] | None:
    """Ask for size and/or quality when the caller left them on auto and the client can show a form."""
    if skip_elicitation or not _service(ctx).settings.use_elicitation or not can_ask(ctx, "elicitation"):
        return None
    caps = _model_capabilities(ctx, provider, model)
    if caps is None:
        return None
    sizes: tuple[str, ...] = ()
    if size in (None, "", "auto"):
        presets = [caps.default_size] if caps.default_size != "auto" else []
        presets += [p for p in caps.sizes.presets if p not in presets]
        sizes = tuple(presets + (["auto"] if caps.sizes.allow_auto else []))
    qualities: tuple[str, ...] = ()
    if quality in (None, "", "auto") and len(caps.qualities) > 1:
        qualities = tuple(caps.qualities)
    if len(sizes) <= 1 and not qualities:
        return None
    form = settings_form(caps.name, sizes if len(sizes) > 1 else (), qualities)
    asked = " and ".join(name for name, values in (("size", sizes), ("quality", qualities)) if len(values) > 1)
    return Elicit(f"Choose the {asked} for this {caps.title or caps.name} image.", form)


# -- sampling --------------------------------------------------------------------------------------------

ENHANCE_SYSTEM_PROMPT = (
    "You improve prompts for an image generation model. Keep the user's intent, subject and any text to render "
    "exactly; add concrete detail about composition, lighting, style and medium. Answer with the improved "
    "prompt only: no preamble, no quotes, no lists."
)


def _enhance_request(prompt: str, model: str | None, size: str | None, quality: str | None) -> Sample:
    details = ", ".join(
        f"{key} {value}" for key, value in (("model", model), ("size", size), ("quality", quality)) if value
    )
    text = f"Improve this image prompt{f' ({details})' if details else ''}:\n\n{prompt}"
    return Sample(
        [SamplingMessage(role="user", content=TextContent(type="text", text=text))],
        max_tokens=SAMPLING_MAX_TOKENS,
        system_prompt=ENHANCE_SYSTEM_PROMPT,
        temperature=0.7,
    )


async def enhance_prompt_resolver(
    ctx: Context,
    prompt: str,
    model: str | None,
    size: str | None,
    quality: str | None,
    enhance_prompt: bool,
) -> Sample | str | None:
    """The client's LLM rewrites the prompt (opt-in per call); any failure falls back to the original."""
    if not enhance_prompt or not _service(ctx).settings.use_sampling or not can_ask(ctx, "sampling"):
        return None
    request = _enhance_request(prompt, model, size, quality)
    if is_modern(ctx):
        return request
    # Handshake era: ask directly, so that a failing or slow client falls back instead of failing the call.
    params = request.params
    try:
        with anyio.fail_after(SAMPLING_TIMEOUT_SECONDS), warnings.catch_warnings():
            warnings.simplefilter("ignore", MCPDeprecationWarning)  # deprecated upstream, still opt-in useful
            result = await ctx.session.create_message(
                messages=params.messages,
                max_tokens=params.max_tokens,
                system_prompt=params.system_prompt,
                temperature=params.temperature,
                related_request_id=ctx.request_id,
            )
    except Exception as exc:  # fall back to the original prompt on any failure
        logger.info("Prompt enhancement failed, using the original prompt: %s", type(exc).__name__)
        return None
    return sampled_text(result)


def sampled_text(result: object) -> str | None:
    """The text of a sampling result, or None."""
    if isinstance(result, str):
        return result
    if isinstance(result, CreateMessageResult) and isinstance(result.content, TextContent):
        return result.content.text
    content = getattr(result, "content", None)
    return getattr(content, "text", None)


def clean_enhanced_prompt(text: str | None, limit: int) -> str | None:
    """Strip what LLMs wrap answers in and any control characters; None when nothing usable is left."""
    if not text:
        return None
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) not in {"Cc", "Cf"} or ch == "\u200d")
    text = re.sub(r"^(improved prompt|prompt)\s*:\s*", "", text.strip(), flags=re.IGNORECASE)
    text = text.strip().strip("\"“”'`").strip()
    if not text or len(text) > limit:
        return None
    return text
