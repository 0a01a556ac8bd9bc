"""`OpenAICompatibleProvider`: the base for every provider that speaks the OpenAI Images API.

It owns the client (built lazily: `openai` is imported on first use, never at start-up), the mapping of
core requests onto `images.generate` / `images.edit`, streaming of partial images, response parsing (the
body is read in chunks and its base64 decoded as it arrives, see `streaming`), error mapping and retries.
A subclass supplies its configuration through `client_config()` and adjusts what differs for its upstream
by overriding `create_client`, `generate_params`, `edit_params`, `complete_response`, `parse_response` or
`map_error`.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager, aclosing
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import anyio
from gpt_image_mcp.errors import (
    BadUpstreamResponseError,
    ConfigurationError,
    ImageMCPError,
    UpstreamUnavailableError,
)
from gpt_image_mcp.progress import Progress
from gpt_image_mcp.provider import ImageProvider
from gpt_image_mcp.types import (
    CheckResult,
    EditRequest,
    GeneratedImage,
    GenerateRequest,
    ImageOptions,
    ImageResult,
    InputImage,
    Operation,
    Usage,
    ValidationReport,
)

from gpt_image_mcp_openai.errors import ErrorContext, map_openai_error, mask_secrets, register_secrets_with_core
from gpt_image_mcp_openai.retrying import RetryPolicy, Sleep, call_with_retries
from gpt_image_mcp_openai.streaming import AnswerTooLargeError, TruncatedBodyError, read_json

if TYPE_CHECKING:
    from openai import AsyncOpenAI

logger = logging.getLogger("gpt_image_mcp_openai")

FileTuple = tuple[str, bytes, str]
_EXTENSION_BY_MIME = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}
#: Answers with at most this much image data are checked on the event loop: a worker-thread hop costs more
#: than sniffing a small image (~0.1 ms), while a 4K PNG takes tens of milliseconds.
INLINE_PARSE_BYTES = 256 * 1024
#: A model object is a few hundred bytes: `validate()` reads no more than this of the answer.
MAX_VALIDATION_ANSWER_BYTES = 1024 * 1024
_DATA_URL_PREFIX = re.compile(r"^data:[\w.+-]+/[\w.+-]+;base64,", re.IGNORECASE)


@dataclass(frozen=True)
class ClientConfig:
    """Everything needed to build a client and to talk about it in messages."""

    base_url: str
    api_key: str | None = None
    organization: str | None = None
    project: str | None = None
    timeout: float = 600.0
    default_headers: Mapping[str, str] = field(default_factory=dict)
    default_query: Mapping[str, object] = field(default_factory=dict)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    #: The settings named in messages: credential, base URL, timeout.
    key_variable: str = "OPENAI_API_KEY"
    base_url_variable: str = "OPENAI_BASE_URL"
    timeout_variable: str = "OPENAI_TIMEOUT"
    #: Extra values to mask in messages besides the API key (tokens, signed query parameters).
    extra_secrets: tuple[str, ...] = ()

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self.api_key, *self.extra_secrets) if s)


class OpenAICompatibleProvider(ImageProvider):
    """Base class for providers served through the `openai` SDK's Images API.

    Subclasses set `name` and implement `client_config()` (raising `ConfigurationError` when the
    configuration is incomplete), `has_credentials()` and `configuration_problems()`.
    """

    operations: ClassVar[frozenset[Operation]] = frozenset({Operation.GENERATE, Operation.EDIT})
    #: `response_format` sent with every call; None sends none (gpt-image models reject the parameter).
    response_format: ClassVar[str | None] = None
    #: Whether the edit endpoint accepts `moderation` (OpenAI's does not).
    edit_accepts_moderation: ClassVar[bool] = False
    #: Whether the upstream accepts `seed` (OpenAI's does not).
    accepts_seed: ClassVar[bool] = False

    def __init__(self, *, sleep: Sleep | None = None) -> None:
        """`sleep` replaces the wait between retries (tests pass a recorder)."""
        self._sleep = sleep
        self._client: AsyncOpenAI | None = None
        self._client_key: ClientConfig | None = None
        self._stale_clients: list[AsyncOpenAI] = []

    # -- what subclasses provide -----------------------------------------------------------------------

    def client_config(self) -> ClientConfig:
        """The current configuration; raise `ConfigurationError` naming what to set when incomplete."""
        raise NotImplementedError

    def create_client(self, config: ClientConfig) -> AsyncOpenAI:
        """Build the SDK client. Its own retries are off: tenacity owns retries (see `retrying`)."""
        import openai

        return openai.AsyncOpenAI(
            api_key=config.api_key,
            base_url=config.base_url,
            organization=config.organization,
            project=config.project,
            timeout=config.timeout,
            max_retries=0,
            default_headers=dict(config.default_headers) or None,
            default_query=dict(config.default_query) or None,
        )

    def validation_model(self) -> str:
        """The model `validate()` asks upstream about."""
        return self.default_model() or "gpt-image-2"

    # -- client --------------------------------------------------------------------------------------

    def _config(self) -> ClientConfig:
        config = self.client_config()
        if self._sleep is not None:
            config = _replace_sleep(config, self._sleep)
        return config

    def client(self, config: ClientConfig | None = None) -> AsyncOpenAI:
        """The SDK client for the current configuration, created on first use and reused."""
        config = config or self._config()
        if self._client is None or self._client_key != config:
            if self._client is not None:
                self._stale_clients.append(self._client)
            register_secrets_with_core(config.secrets)
            self._client = self.create_client(config)
            self._client_key = config
        return self._client

    async def aclose(self) -> None:
        clients = [*self._stale_clients, *([self._client] if self._client is not None else [])]
        self._client, self._stale_clients = None, []
        for client in clients:
            try:
                await client.close()
            except Exception as exc:  # one client that cannot close must not leave the others open
                logger.debug("Closing a %s client failed: %s", self.name, exc)

    # -- request mapping -------------------------------------------------------------------------------

    def common_params(self, request: ImageOptions) -> dict[str, Any]:
        """Parameters shared by generate and edit: only what is set."""
        params: dict[str, Any] = {"model": request.model, "n": request.n}
        for name in ("size", "quality", "background", "output_format", "output_compression", "user"):
            value = getattr(request, name)
            if value is not None:
                params[name] = value
        if self.response_format is not None:
            params["response_format"] = self.response_format
        # Fields the SDK has no argument for travel in extra_body (merged into the JSON or the form).
        extra = dict(request.extra)
        if self.accepts_seed and request.seed is not None:
            extra.setdefault("seed", request.seed)
        if extra:
            params["extra_body"] = extra
        return params

    def generate_params(self, request: GenerateRequest) -> dict[str, Any]:
        """Keyword arguments for `client.images.generate` (without the streaming ones)."""
        params = {"prompt": request.prompt, **self.common_params(request)}
        if request.moderation is not None:
            params["moderation"] = request.moderation
        return params

    def edit_params(self, request: EditRequest) -> dict[str, Any]:
        """Keyword arguments for `client.images.edit`: images and mask as (filename, bytes, mime) tuples."""
        params = {
            "prompt": request.prompt,
            "image": image_files(request.images),
            **self.common_params(request),
        }
        if request.mask is not None:
            params["mask"] = ("mask.png", request.mask.data, request.mask.mime_type)
        if request.input_fidelity is not None:
            params["input_fidelity"] = request.input_fidelity
        if request.moderation is not None and self.edit_accepts_moderation:
            params["moderation"] = request.moderation
        return params

    def ignored_options(self, request: ImageOptions) -> list[str]:
        """Notes for options that were set but that this upstream does not take."""
        notes = []
        if request.seed is not None and not self.accepts_seed:
            notes.append(f"seed is not supported by {self.name} and was not sent")
        if isinstance(request, EditRequest) and request.moderation is not None and not self.edit_accepts_moderation:
            notes.append(f"moderation is not accepted by {self.name}'s edit endpoint and was not sent")
        return notes

    # -- operations ------------------------------------------------------------------------------------

    async def generate(self, request: GenerateRequest, progress: Progress) -> ImageResult:
        config = self._config()
        client = self.client(config)
        params = self.generate_params(request)
        streamed = client.images.with_streaming_response.generate
        result = await self._call(config, request, progress, client.images.generate, params, streamed=streamed)
        result.notes[:0] = self.ignored_options(request)
        return result

    async def edit(self, request: EditRequest, progress: Progress) -> ImageResult:
        config = self._config()
        client = self.client(config)
        params = self.edit_params(request)
        streamed = client.images.with_streaming_response.edit
        result = await self._call(config, request, progress, client.images.edit, params, streamed=streamed)
        result.notes[:0] = self.ignored_options(request)
        return result

    async def _call(
        self,
        config: ClientConfig,
        request: ImageOptions,
        progress: Progress,
        method: Callable[..., Awaitable[Any]],
        params: dict[str, Any],
        *,
        streamed: Callable[..., AbstractAsyncContextManager[Any]] | None = None,
    ) -> ImageResult:
        """One call with retries. `method` serves partial-image streams (and everything when `streamed` is None);
        `streamed`, the same method under `with_streaming_response`, serves plain answers: see `read_response`."""
        context = self.error_context(config, request.model)

        async def attempt() -> ImageResult:
            try:
                # The SDK's timeout bounds each read; an answer that trickles in must not keep the call open.
                with anyio.fail_after(config.timeout):
                    return await answer()
            except TimeoutError:
                raise self.translate(self._timeout_error(config), context) from None

        async def answer() -> ImageResult:
            try:
                if request.partial_images:
                    stream = await method(**params, stream=True, partial_images=request.partial_images)
                    return await self.consume_stream(stream, request, progress, context)
                if streamed is not None:
                    response = await self.read_response(streamed(**params), context)
                else:
                    response = await method(**params)
                response = await self.complete_response(response, request, context)
                if _image_data_size(response) <= INLINE_PARSE_BYTES:
                    return self.parse_response(response, request, context)
                # Decoding megabytes of base64 and checking the image is CPU work: keep it off the event loop.
                return await anyio.to_thread.run_sync(self.parse_response, response, request, context)
            except ImageMCPError:
                raise
            except Exception as exc:
                mapped = self.translate(exc, context)
                if mapped is exc:
                    raise
                raise mapped from None

        return await call_with_retries(attempt, policy=config.retry, progress=progress, provider=self.name)

    @staticmethod
    def _timeout_error(config: ClientConfig) -> Exception:
        """The SDK's own timeout error, so that a whole answer taking too long reads like a read timing out."""
        import httpx2
        import openai

        return openai.APITimeoutError(request=httpx2.Request("POST", config.base_url))

    def error_context(self, config: ClientConfig, model: str | None, request_id: str | None = None) -> ErrorContext:
        return ErrorContext(
            provider=self.name,
            model=model,
            base_url=config.base_url,
            key_variable=config.key_variable,
            base_url_variable=config.base_url_variable,
            timeout_variable=config.timeout_variable,
            secrets=config.secrets,
            timeout=config.timeout,
            request_id=request_id,
        )

    def translate(self, exc: Exception, context: ErrorContext) -> Exception:
        """A core error for an SDK or decoding failure; anything else is a bug and is passed on unchanged."""
        import openai

        if isinstance(exc, openai.OpenAIError):
            return self.map_error(exc, context)
        if isinstance(exc, json.JSONDecodeError):
            return BadUpstreamResponseError(
                f"{self.name} sent a response that is not valid JSON ({exc.msg})",
                provider=self.name,
                model=context.model,
                request_id=context.request_id,
            )
        return exc

    def map_error(self, exc: Exception, context: ErrorContext) -> ImageMCPError:
        """Classify an SDK exception; override to add upstream-specific codes (e.g. Azure content filters)."""
        return map_openai_error(exc, context)

    # -- responses -----------------------------------------------------------------------------------

    async def read_response(self, opened: AbstractAsyncContextManager[Any], context: ErrorContext) -> Any:
        """Read a plain (non-SSE) answer in chunks into an `ImagesResponse` whose `b64_json` values are bytes.

        `opened` is the SDK's `with_streaming_response` call: entering it sends the request and raises the SDK's
        status errors; the body is then read chunk by chunk and its base64 decoded as it arrives, so neither the
        body nor its base64 text is ever held whole. A transport error or timeout while reading becomes the
        core error of the SDK's `APIConnectionError` / `APITimeoutError`, and a body that ends inside its JSON
        document an `UpstreamUnavailableError` (all retryable, like a partial-image stream cut short).
        """
        async with opened as raw:
            return await self._read_answer(raw.headers, raw.iter_bytes(), raw.close, raw.http_request, context)

    async def _read_answer(
        self,
        headers: Mapping[str, str],
        body: AsyncIterator[bytes],
        close: Callable[[], Awaitable[None]],
        http_request: Any,
        context: ErrorContext,
    ) -> Any:
        """The JSON answer of `body` (see `read_response`); `close` releases the connection in any case."""
        import ssl

        import httpx2
        import openai
        from openai.types import ImagesResponse

        request_id = headers.get("x-request-id")
        context = dataclasses.replace(context, request_id=request_id)
        content_type = headers.get("content-type", "")
        try:
            async with aclosing(body) as chunks:
                head = b""
                if content_type and "json" not in content_type.lower():
                    # Some compatible servers label JSON as text/plain: trust the body, not the label.
                    head = await _body_start(chunks)
                    if head.lstrip()[:1] not in (b"{", b"["):
                        raise self._bad(
                            f"{self.name} answered with {content_type.split(';')[0]} instead of JSON: is "
                            f"{context.base_url_variable} ({context.base_url}) the API's address, not a web "
                            "page or a proxy's?",
                            context,
                        )
                document = await read_json(_prepend(head, chunks))
        except TruncatedBodyError as exc:
            if _framed(headers):
                # The answer arrived whole (a connection dropped mid-body raises in httpx): its JSON is broken.
                message = f"{self.name} sent a response that is not valid JSON (it ends early)"
                raise self._bad(message, context) from None
            raise UpstreamUnavailableError(
                f"{self.name}'s answer ended after {exc.received:,} bytes, before its JSON document was "
                "complete; the connection may have dropped",
                provider=self.name,
                model=context.model,
                request_id=request_id,
            ) from None
        except json.JSONDecodeError as exc:
            raise self.translate(exc, context) from None
        except AnswerTooLargeError as exc:
            raise self._bad(f"{self.name} sent an answer that is too large: {exc}", context) from None
        except (ValueError, RecursionError):  # bad UTF-8, numbers beyond Python's digit limit, deep nesting
            raise self._bad(f"{self.name} sent a response that is not valid JSON", context) from None
        except (httpx2.RequestError, anyio.EndOfStream, ssl.SSLError) as exc:
            kind = openai.APITimeoutError if isinstance(exc, httpx2.TimeoutException) else openai.APIConnectionError
            error = kind(request=http_request)
            error.__cause__ = exc
            raise self.map_error(error, context) from None
        finally:
            with anyio.CancelScope(shield=True):
                await close()
        if not isinstance(document, dict):
            return document  # what the SDK returns for it too; `parse_response` finds no image data in it
        try:
            response = ImagesResponse.construct(**document)
        except Exception:  # keys the SDK's model cannot take (e.g. its own private names)
            raise self._bad(f"{self.name} sent a JSON document that is not an images response", context) from None
        response._request_id = request_id
        return response

    async def complete_response(self, response: Any, request: ImageOptions, context: ErrorContext) -> Any:
        """Async step between the SDK call and `parse_response` (e.g. download images sent as URLs).

        The default returns the response unchanged. Raise core errors only; a retryable one repeats the call.
        """
        return response

    async def consume_stream(
        self, stream: Any, request: ImageOptions, progress: Progress, context: ErrorContext
    ) -> ImageResult:
        """Read `*.partial_image` events into `progress`, and `*.completed` events into the result."""
        import anyio
        import openai

        raw = getattr(stream, "response", None)
        headers = getattr(raw, "headers", None) or {}
        content_type = headers.get("content-type", "").lower()
        # JSON (or a web page) instead of events: a proxy or server that ignores `stream`. Any other label, or
        # none, is left to the SDK's event parser, which reads events whatever the label says.
        if (
            raw is not None
            and "event-stream" not in content_type
            and ("json" in content_type or "html" in content_type)
        ):
            return await self._unstreamed_answer(stream, raw, request, context)
        request_id = headers.get("x-request-id")
        context = dataclasses.replace(context, request_id=request_id)
        images: list[GeneratedImage] = []
        failures: list[BadUpstreamResponseError] = []
        usage: Usage | None = None
        partials = 0
        try:
            async for event in stream:
                kind = str(getattr(event, "type", "") or "")
                if kind.endswith(".partial_image"):
                    index = getattr(event, "partial_image_index", None)
                    index = index if isinstance(index, int) else partials
                    partials += 1
                    try:
                        preview = self.decode_image(getattr(event, "b64_json", None), index, context, what="partial")
                    except BadUpstreamResponseError as exc:
                        logger.warning("%s sent an unreadable partial image %d: %s", self.name, index + 1, exc)
                        continue
                    await progress.partial_image(preview, index)
                elif kind.endswith(".completed"):
                    index = len(images) + len(failures)
                    try:
                        images.append(self.decode_image(getattr(event, "b64_json", None), index, context))
                    except BadUpstreamResponseError as exc:  # the other images are paid for: keep them
                        failures.append(exc)
                    usage = usage_from(getattr(event, "usage", None)) or usage
        except openai.OpenAIError as exc:
            raise self.map_error(exc, context) from None
        finally:
            with anyio.CancelScope(shield=True):
                await stream.close()
        if not images and failures:
            raise failures[0]
        if not images and not partials and _framed(headers) and "event-stream" not in content_type:
            # The whole body arrived (its end was announced) and held no event: not a stream cut short but an
            # answer nobody can read as events. A retry would be billed again for the same.
            raise self._bad(
                f"{self.name} answered a streamed call with {content_type or 'no content type'} and no events; "
                "call without partial_images for this upstream",
                context,
            )
        if not images:
            # A stream cut short (dropped connection, proxy timeout) looks just like this: worth a retry.
            raise UpstreamUnavailableError(
                f"{self.name}'s stream ended before the final image arrived (after {partials} partial images); "
                "the connection may have dropped",
                provider=self.name,
                model=request.model,
                request_id=request_id,
            )
        return ImageResult(
            images=images,
            provider=self.name,
            model=request.model,
            usage=usage,
            request_id=request_id,
            notes=[
                *format_notes(request, images, self.name),
                *(f"{failure.message}; the other images are kept" for failure in failures),
            ],
        )

    async def _unstreamed_answer(
        self, stream: Any, raw: Any, request: ImageOptions, context: ErrorContext
    ) -> ImageResult:
        """A streamed call answered at once (a proxy or server that ignores `stream`): the images are in the body,
        and they are paid for. Anything but JSON is a bad answer, not a stream cut short worth a retry."""
        response = await self._read_answer(raw.headers, raw.aiter_bytes(), stream.close, raw.request, context)
        response = await self.complete_response(response, request, context)
        result = await anyio.to_thread.run_sync(self.parse_response, response, request, context)
        result.notes.append(f"{self.name} answered without streaming, so no partial images could be shown")
        return result

    def parse_response(self, response: Any, request: ImageOptions, context: ErrorContext) -> ImageResult:
        """Turn an `ImagesResponse` into an `ImageResult`, refusing anything that is not image data."""
        request_id = getattr(response, "_request_id", None)
        context = dataclasses.replace(context, request_id=request_id)
        data = getattr(response, "data", None)
        if not data or not isinstance(data, list):
            raise self._bad(f"{self.name} answered without any image data", context)
        images: list[GeneratedImage] = []
        failures: list[BadUpstreamResponseError] = []
        for index, item in enumerate(data):
            b64 = getattr(item, "b64_json", None)
            try:
                if not b64 and getattr(item, "url", None):
                    raise self._bad(
                        f"{self.name} returned image {index + 1} as a URL instead of image data; this server needs "
                        "the image bytes (base64)",
                        context,
                    )
                revised = getattr(item, "revised_prompt", None)
                images.append(self.decode_image(b64, index, context, revised_prompt=revised))
            except BadUpstreamResponseError as exc:
                failures.append(exc)
        if not images:
            raise failures[0]
        # The images that did arrive are paid for: keep them and say what is missing.
        notes = [f"{failure.message}; the other images are kept" for failure in failures]
        return ImageResult(
            images=images,
            provider=self.name,
            model=request.model,
            usage=usage_from(getattr(response, "usage", None)),
            request_id=request_id,
            notes=[*format_notes(request, images, self.name), *notes],
        )

    def decode_image(
        self,
        b64: str | bytes | None,
        index: int,
        context: ErrorContext,
        *,
        revised_prompt: str | None = None,
        what: str = "image",
    ) -> GeneratedImage:
        """Base64 (or a data: URL), or bytes already decoded, to a checked image; `BadUpstreamResponseError`
        when it is none of these."""
        label = f"{what} {index + 1}"
        if isinstance(b64, bytes) and b64:
            data = b64
        elif not isinstance(b64, str) or not b64.strip():
            raise self._bad(f"{self.name} sent {label} without image data", context)
        else:
            text = _DATA_URL_PREFIX.sub("", b64.strip())
            try:
                # Fast path for well-formed answers (a 4K PNG is ~33 MB of base64: a regex pass costs ~0.3 s).
                data = binascii.a2b_base64(text, strict_mode=True)
            except (binascii.Error, ValueError):
                text = re.sub(r"\s+", "", text)
                try:
                    data = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
                except (binascii.Error, ValueError):
                    raise self._bad(f"{self.name} sent {label} as corrupt base64", context) from None
        try:
            return GeneratedImage.from_bytes(data, revised_prompt=revised_prompt)
        except BadUpstreamResponseError as exc:
            raise self._bad(f"{self.name} sent {label}, but {exc.message}", context) from None

    def _bad(self, message: str, context: ErrorContext) -> BadUpstreamResponseError:
        return BadUpstreamResponseError(
            mask_secrets(message, context.secrets),
            provider=self.name,
            model=context.model,
            request_id=context.request_id,
        )

    # -- validation ------------------------------------------------------------------------------------

    async def validate(self) -> ValidationReport:
        """Configuration, then one upstream call that generates nothing: GET /models/{model}."""
        problems = self.configuration_problems()
        checks = [CheckResult(name="configuration", ok=not problems, detail="; ".join(problems) or "complete")]
        if problems:
            return ValidationReport(provider=self.name, ok=False, checks=checks)
        try:
            config = self._config()
        except ConfigurationError as exc:
            checks[0] = CheckResult(name="configuration", ok=False, detail=exc.message)
            return ValidationReport(provider=self.name, ok=False, checks=checks)
        model = self.validation_model()
        checks += await self.upstream_checks(config, model)
        return ValidationReport(provider=self.name, ok=all(check.ok for check in checks), checks=checks)

    async def upstream_checks(self, config: ClientConfig, model: str) -> list[CheckResult]:
        """Reachability, credentials and model availability, from one `models.retrieve` call."""
        import ssl

        import httpx2
        import openai

        where = config.base_url
        try:
            async with self.client(config).models.with_streaming_response.retrieve(model) as raw:
                try:
                    headers, body = raw.headers, await _read_at_most(raw.iter_bytes(), MAX_VALIDATION_ANSWER_BYTES)
                except (httpx2.RequestError, anyio.EndOfStream, ssl.SSLError) as exc:  # the body, cut or stalled
                    kind = (
                        openai.APITimeoutError
                        if isinstance(exc, httpx2.TimeoutException)
                        else openai.APIConnectionError
                    )
                    raise kind(request=raw.http_request) from exc
        except openai.OpenAIError as exc:
            error = self.map_error(exc, self.error_context(config, model))
            status = error.http_status
            if status is None:
                return [CheckResult(name="reachable", ok=False, detail=f"cannot reach {where}: {error.message}")]
            reached = CheckResult(name="reachable", ok=True, detail=f"{where} answered (HTTP {status})")
            if status == 401:
                detail = f"{config.key_variable} is invalid or revoked: {error.message}"
                return [reached, CheckResult(name="credentials", ok=False, detail=detail)]
            if status == 403:
                return [reached, CheckResult(name="credentials", ok=False, detail=error.message)]
            key_ok = CheckResult(name="credentials", ok=True, detail="accepted")
            if status == 404:
                detail = f"model {model} is not available to these credentials: {error.message}"
                return [reached, key_ok, CheckResult(name="model", ok=False, detail=detail)]
            return [reached, CheckResult(name="upstream", ok=False, detail=error.message)]
        # A web page (a proxy's sign-in, a wrong path) or anything but a model object answers 200 too.
        content_type = headers.get("content-type", "").split(";")[0] or "no content type"
        try:
            document = json.loads(body) if body is not None else None
        except (ValueError, RecursionError):
            document = None
        if not (isinstance(document, dict) and isinstance(document.get("id"), str)):
            shown = "more than 1 MiB" if body is None else f"{content_type}, not a model object"
            detail = (
                f"{where} answered with {shown}: is {config.base_url_variable} the API's address, not a web page "
                "or a proxy's?"
            )
            return [CheckResult(name="reachable", ok=False, detail=detail)]
        return [
            CheckResult(name="reachable", ok=True, detail=f"{where} answered"),
            CheckResult(name="credentials", ok=True, detail="accepted"),
            CheckResult(name="model", ok=True, detail=f"model {model} is available"),
        ]


async def _read_at_most(chunks: AsyncIterator[bytes], limit: int) -> bytes | None:
    """The whole body, or None when it is longer than `limit` bytes (reading stops there)."""
    body = b""
    async with aclosing(chunks) as reading:
        async for chunk in reading:
            body += chunk
            if len(body) > limit:
                return None
    return body


async def _body_start(chunks: AsyncIterator[bytes]) -> bytes:
    """The first chunks of a body, up to the first that is not blank (all of it when it is blank)."""
    head = b""
    async for chunk in chunks:
        head += chunk
        if head.strip():
            break
    return head


async def _prepend(head: bytes, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    if head:
        yield head
    async for chunk in chunks:
        yield chunk


def _framed(headers: Mapping[str, str]) -> bool:
    """Whether the body's end was announced (length or chunks), so that a body ending early is not a cut."""
    return "content-length" in headers or "chunked" in headers.get("transfer-encoding", "").lower()


def _image_data_size(response: Any) -> int:
    """Bytes of image data (decoded or base64) in a response; unknown shapes count as large."""
    total = 0
    data = getattr(response, "data", None)
    for item in data if isinstance(data, list) else []:
        value = getattr(item, "b64_json", None)
        if value is not None and not isinstance(value, str | bytes):
            return INLINE_PARSE_BYTES + 1
        total += len(value or "")
    return total


def image_files(images: list[InputImage]) -> list[FileTuple]:
    """Input images as multipart file tuples with unique names whose extension matches the real type.

    Bare bytes would go out as `application/octet-stream`, which the Images API rejects.
    """
    files = []
    seen: set[str] = set()
    for index, image in enumerate(images):
        stem = image.filename.rsplit(".", 1)[0] or f"image_{index}"
        name = f"{stem}.{_EXTENSION_BY_MIME.get(image.mime_type, 'png')}"
        if name in seen:
            name = f"{stem}_{index}.{_EXTENSION_BY_MIME.get(image.mime_type, 'png')}"
        seen.add(name)
        files.append((name, image.data, image.mime_type))
    return files


def usage_from(usage: Any) -> Usage | None:
    """Core `Usage` from the SDK's usage object (any field may be missing on compatible servers)."""
    if usage is None:
        return None
    input_details = getattr(usage, "input_tokens_details", None)
    output_details = getattr(usage, "output_tokens_details", None)
    values = {
        "input_tokens": getattr(usage, "input_tokens", None),
        "output_tokens": getattr(usage, "output_tokens", None),
        "total_tokens": getattr(usage, "total_tokens", None),
        "input_text_tokens": getattr(input_details, "text_tokens", None),
        "input_image_tokens": getattr(input_details, "image_tokens", None),
        "output_image_tokens": getattr(output_details, "image_tokens", None),
        "output_text_tokens": getattr(output_details, "text_tokens", None),
    }
    values = {key: value for key, value in values.items() if isinstance(value, int)}
    return Usage(**values) if values else None


def format_notes(request: ImageOptions, images: list[GeneratedImage], provider: str) -> list[str]:
    """Say so when upstream returned another format than the one asked for (the bytes were sniffed)."""
    if not request.output_format:
        return []
    wanted = {"jpg": "jpeg"}.get(request.output_format, request.output_format)
    got = sorted({image.mime_type.split("/")[1] for image in images} - {wanted})
    if not got:
        return []
    return [f"{provider} returned {', '.join(got)} although {wanted} was requested"]


def _replace_sleep(config: ClientConfig, sleep: Sleep) -> ClientConfig:
    return dataclasses.replace(config, retry=dataclasses.replace(config.retry, sleep=sleep))
