"""`ProviderConformance`: the provider contract as a reusable pytest suite.

Subclass it in a test module (the class name must start with `Test`) and provide three fixtures: `provider`
(your provider, configured against your fake upstream, with retries off or instant), `upstream` (the fake, see
`gpt_image_mcp.testing.upstream.Upstream`) and `secret` (the credential your fixture configured). Every check
goes through core's public path: `ImageService` for calls, `build_server` and the MCP client for one call end
to end. A provider with no upstream at all sets `has_upstream = False`: the checks that need an upstream are then
not collected at all, and the claim itself is tested instead (every socket is blocked and must not be tried).
"""

from __future__ import annotations

import errno
import ipaddress
import json
import logging
import socket
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import anyio
import pytest

from gpt_image_mcp.capabilities import ModelCapabilities, ModelTable
from gpt_image_mcp.errors import (
    AuthenticationError,
    ImageMCPError,
    RefusedError,
    UnsupportedOperationError,
    UpstreamUnavailableError,
)
from gpt_image_mcp.imaging import inspect_image
from gpt_image_mcp.plugins import NAME_PATTERN, PluginSelection, load_registry
from gpt_image_mcp.progress import Progress
from gpt_image_mcp.provider import ImageProvider
from gpt_image_mcp.secrets_mask import SecretMaskingFilter
from gpt_image_mcp.service import CallOutcome, ImageService
from gpt_image_mcp.settings import Settings, _env_name, load_settings
from gpt_image_mcp.testing.upstream import Upstream, png_bytes
from gpt_image_mcp.types import (
    EditRequest,
    GeneratedImage,
    GenerateRequest,
    ImageRequest,
    InputImage,
    Operation,
    ValidationReport,
    VariationRequest,
)
from gpt_image_mcp.validation import check_size

NAME_RULE = "a name is lower-case letters, digits, '-', '_' or '.' (PROVIDER and the tools lower-case it)"
FALLBACK_SIZE = (1024, 1024)
INPUT_SIZE = (64, 64)


@dataclass
class NetworkGuard:
    """Refuses socket connections the test may not make, and remembers every attempt."""

    allow_loopback: bool
    attempts: list[str] = field(default_factory=list)

    def check(self, address: Any) -> None:
        if not isinstance(address, tuple):
            return  # AF_UNIX and friends: not the network
        host = str(address[0])
        try:
            loopback = ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
        except ValueError:
            loopback = host == "localhost"
        if self.allow_loopback and loopback:
            return
        self.attempts.append(f"{host}:{address[1]}")
        allowed = "only 127.0.0.1/::1" if self.allow_loopback else "no network (has_upstream = False)"
        raise OSError(errno.ENETUNREACH, f"conformance kit: connection to {host}:{address[1]} blocked ({allowed})")


class _LogCapture(logging.Handler):
    """Every record, formatted as the server writes it: secrets masked, exception text included."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.addFilter(SecretMaskingFilter())
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


UPSTREAM_CHECKS = (
    "test_authentication_failure",
    "test_server_error_is_retryable",
    "test_refusal",
    "test_cancellation",
    "test_secrets_are_not_leaked",
)


class ProviderConformance:
    """Checks that a provider keeps the contract of `ImageProvider`. See the module docstring and
    docs/plugins.md ("Conformance kit") for what each check demands."""

    #: The provider calls an upstream. False: it never opens a network connection (asserted, not assumed).
    has_upstream: ClassVar[bool] = True
    #: Entry-point (or built-in) plugin name that registers the provider; checked through real discovery.
    plugin_name: ClassVar[str | None] = None
    #: Prompt used for every call.
    prompt: ClassVar[str] = "a red kite over green hills"
    #: Size to request (None: the default model's default size, else its first preset).
    image_size: ClassVar[tuple[int, int] | None] = None
    #: Seconds any single check may take.
    call_timeout: ClassVar[float] = 30.0
    #: Seconds a cancelled call may take to stop, and its connection to close.
    cancel_within: ClassVar[float] = 5.0

    pytestmark: ClassVar[list[pytest.MarkDecorator]] = [pytest.mark.anyio]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.has_upstream:
            # Nothing to check without an upstream: drop these checks rather than report them as skipped.
            for name in UPSTREAM_CHECKS:
                setattr(cls, name, None)

    # -- fixtures the author provides -----------------------------------------------------------------

    @pytest.fixture
    def provider(self) -> ImageProvider:
        """Override: your provider, configured against your fake upstream (retries off or instant)."""
        pytest.fail(f"{type(self).__name__} must define a `provider` fixture returning the configured provider")

    @pytest.fixture
    def upstream(self) -> Upstream | None:
        """Override: the fake upstream your provider is configured against."""
        if self.has_upstream:
            pytest.fail(
                f"{type(self).__name__} must define an `upstream` fixture (see gpt_image_mcp.testing.Upstream), "
                "or declare has_upstream = False"
            )
        return None

    @pytest.fixture
    def secret(self) -> str | None:
        """Override: the credential your `provider` fixture configured (None: it configured none)."""
        if self.has_upstream:
            pytest.fail(f"{type(self).__name__} must define a `secret` fixture returning the configured key")
        return None

    # -- the kit's own fixtures -------------------------------------------------------------------------

    @pytest.fixture
    def anyio_backend(self) -> str:
        return "asyncio"

    @pytest.fixture(autouse=True)
    def network_guard(self, monkeypatch: pytest.MonkeyPatch) -> Iterator[NetworkGuard]:
        """Only loopback connections (none at all with has_upstream = False); every other attempt fails the test."""
        guard = NetworkGuard(allow_loopback=self.has_upstream)
        original_connect, original_connect_ex = socket.socket.connect, socket.socket.connect_ex

        def connect(sock: socket.socket, address: Any) -> None:
            guard.check(address)
            original_connect(sock, address)

        def connect_ex(sock: socket.socket, address: Any) -> int:
            guard.check(address)
            return original_connect_ex(sock, address)

        monkeypatch.setattr(socket.socket, "connect", connect)
        monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
        yield guard
        assert not guard.attempts, f"the provider tried to open network connections it may not: {guard.attempts}"

    @pytest.fixture(autouse=True)
    def core_environment(self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
        """Core's settings at their defaults: the developer's environment and `.env` file do not reach the checks
        (a MAX_INLINE_BYTES or DEFAULT_MODEL set for daily use would change what the server answers)."""
        for name in Settings.model_fields:
            monkeypatch.delenv(_env_name(name), raising=False)
        monkeypatch.setenv("GPT_IMAGE_MCP_ENV_FILE", str(tmp_path / "no-such.env"))

    @pytest.fixture
    async def service(self, provider: ImageProvider, tmp_path: Path) -> AsyncIterator[ImageService]:
        """Core's `ImageService` with this provider as its only provider and the built-in sinks."""
        name = getattr(provider, "name", None)
        if not isinstance(name, str) or not NAME_PATTERN.match(name):
            pytest.fail(
                f"provider name {name!r} must be lower-case letters, digits, '-', '_' or '.' (PROVIDER is lower-cased)"
            )
        settings = load_settings(
            provider=provider.name,
            image_store_dir=tmp_path / "conformance-store",
            output_dir=tmp_path / "conformance-output",
            default_sinks="inline",
        )
        registry = load_registry(PluginSelection(load_entry_points=False))
        registry.providers = {provider.name: provider}
        registry.owners[("provider", provider.name)] = "conformance"
        service = ImageService(settings, registry)
        yield service
        await service.aclose()

    # -- helpers ---------------------------------------------------------------------------------------

    @staticmethod
    def model_for(service: ImageService, provider: ImageProvider, operation: Operation) -> str:
        """The default model when it can do `operation`, else the first served model that can."""
        default = service.default_model_for(provider)
        caps = service.table.get(default)
        if caps is None or provider.adapt_capabilities(caps).supports(operation):
            return default
        for model in service.models_for(provider):
            if model.supports(operation):
                return model.name
        pytest.fail(f"provider {provider.name} declares {operation.value} but serves no model that supports it")

    def size_for(self, caps: ModelCapabilities | None) -> tuple[int, int]:
        if self.image_size is not None:
            return self.image_size
        if caps is None:
            return FALLBACK_SIZE
        candidates = [caps.default_size, *caps.sizes.presets, "1024x1024"]
        for candidate in candidates:
            if candidate != "auto" and "x" in candidate and not check_size(candidate, caps):
                width, height = candidate.split("x")
                return int(width), int(height)
        pytest.fail(f"no valid size found for {caps.name}: set image_size on {type(self).__name__}")

    def call_arguments(self, service: ImageService, provider: ImageProvider, operation: Operation) -> dict[str, Any]:
        """Arguments for `ImageService.<operation>`: a served model, a valid size, n = 2 where allowed."""
        model = self.model_for(service, provider, operation) if operation in provider.operations else None
        model = model or service.default_model_for(provider)
        caps = service.table.get(model)
        caps = provider.adapt_capabilities(caps) if caps is not None else None
        width, height = self.size_for(caps)
        arguments: dict[str, Any] = {
            "model": model,
            "n": min(2, caps.max_n if caps else 2),
            "size": f"{width}x{height}",
        }
        if operation is not Operation.VARIATION:
            arguments["prompt"] = self.prompt
        if operation is Operation.EDIT:
            arguments["images"] = [input_image()]
        if operation is Operation.VARIATION:
            arguments["image"] = input_image()
        return arguments

    @staticmethod
    async def call(
        service: ImageService, provider: ImageProvider, operation: Operation, arguments: dict[str, Any]
    ) -> CallOutcome:
        if operation is Operation.GENERATE:
            return await service.generate(provider=provider.name, **arguments)
        if operation is Operation.EDIT:
            return await service.edit(provider=provider.name, **arguments)
        return await service.variation(provider=provider.name, **arguments)

    @staticmethod
    def first_operation(provider: ImageProvider) -> Operation:
        return next(op for op in (Operation.GENERATE, Operation.EDIT, Operation.VARIATION) if op in provider.operations)

    @staticmethod
    def size_of(arguments: dict[str, Any]) -> tuple[int, int]:
        width, height = arguments["size"].split("x")
        return int(width), int(height)

    @staticmethod
    def assert_valid_image(image: GeneratedImage, size: tuple[int, int]) -> None:
        """The bytes are a real image whose sniffed format and size are what the metadata says."""
        info = inspect_image(image.data)
        declared = (image.mime_type, image.width, image.height, image.has_alpha)
        assert (info.mime_type, info.width, info.height, info.has_alpha) == declared, (
            f"GeneratedImage says {declared} but its bytes are {info}: build it with GeneratedImage.from_bytes"
        )
        assert (image.width, image.height) == size, f"image is {image.width}x{image.height}, upstream sent {size}"

    async def error_for(
        self, service: ImageService, provider: ImageProvider, upstream: Upstream
    ) -> tuple[ImageMCPError, int]:
        """The error one call ends with, and how many image calls the upstream saw for it."""
        operation = self.first_operation(provider)
        arguments = self.call_arguments(service, provider, operation)
        before = len(upstream.image_requests())
        with anyio.fail_after(self.call_timeout), pytest.raises(ImageMCPError) as info:
            await self.call(service, provider, operation, arguments)
        return info.value, len(upstream.image_requests()) - before

    # -- the checks ------------------------------------------------------------------------------------

    async def test_declaration(self, provider: ImageProvider, service: ImageService) -> None:
        """Name, description, operations and configuration are well formed; the fixture configured it fully."""
        assert isinstance(provider, ImageProvider)
        assert isinstance(provider.name, str) and NAME_PATTERN.match(provider.name), (
            f"provider name {provider.name!r}: {NAME_RULE}"
        )
        assert provider.description.strip(), "describe the provider in one line (provider_list shows it)"
        operations = provider.operations
        assert operations and all(isinstance(op, Operation) for op in operations), "declare at least one Operation"
        assert provider.vendors and all(isinstance(vendor, str) for vendor in provider.vendors)
        assert provider.configuration_problems() == [], "the provider fixture must configure the provider completely"
        assert provider.is_configured()
        assert isinstance(provider.has_credentials(), bool)
        assert service.models_for(provider) or provider.accepts_unknown_models, "the provider serves no model"

    async def test_plugin_is_discovered(self, provider: ImageProvider) -> None:
        """The plugin is found through its entry point (or is built in) and registers this provider."""
        assert self.plugin_name, f"set plugin_name on {type(self).__name__}: the entry-point name of the plugin"
        registry = load_registry()
        info = next((info for info in registry.plugins if info.name == self.plugin_name), None)
        assert info is not None, f"no plugin {self.plugin_name!r}: is the distribution installed with its entry point?"
        assert info.status == "loaded", f"plugin {self.plugin_name!r} is {info.status}: {info.error}"
        assert "register_providers" in info.hooks
        assert info.builtin or (info.distribution and info.version), "distribution and version come from metadata"
        registered = registry.providers.get(provider.name)
        assert type(registered) is type(provider), f"plugin {self.plugin_name!r} registers no {type(provider)}"
        assert registry.owner("provider", provider.name) == self.plugin_name

    async def test_model_table_layer_validates(self, provider: ImageProvider, service: ImageService) -> None:
        """Contributed capability entries build a valid table, and the provider serves each of them."""
        layer = provider.model_table_layer()
        table = ModelTable.default().with_layer(layer, source=f"provider {provider.name}")
        for name in layer:
            caps = table.get(name)
            assert caps is not None and provider.serves(caps), (
                f"{provider.name} contributes {name} but does not serve it"
            )
            assert service.table.get(name) is not None
            assert name in [model.name for model in service.models_for(provider)] or caps.retired

    async def test_default_model_is_served(self, provider: ImageProvider, service: ImageService) -> None:
        """`default_model()` (else the server's DEFAULT_MODEL) is a model of the table this provider serves."""
        model = service.default_model_for(provider)
        if provider.default_model() is not None:
            assert model == provider.default_model()
        caps = service.table.get(model)
        assert caps is not None, f"default model {model} is not in the capability table: contribute it"
        assert provider.serves(caps) and not caps.retired, f"default model {model} is not served (or retired)"
        resolved, resolved_caps, notes = service.resolve_model(provider, None)
        assert (resolved, notes) == (model, []) and resolved_caps is not None

    @pytest.mark.parametrize("operation", list(Operation), ids=[op.value for op in Operation])
    async def test_operation(
        self, operation: Operation, provider: ImageProvider, upstream: Upstream | None, service: ImageService
    ) -> None:
        """Declared: works against the fake, valid images with true metadata. Undeclared: refused before network."""
        arguments = self.call_arguments(service, provider, operation)
        if operation not in provider.operations:
            before = len(upstream.requests()) if upstream is not None else 0
            with pytest.raises(UnsupportedOperationError):
                await self.call(service, provider, operation, arguments)
            with pytest.raises(UnsupportedOperationError):
                await getattr(provider, operation.value)(direct_request(operation, arguments), Progress())
            if upstream is not None:
                assert len(upstream.requests()) == before, f"undeclared {operation.value} reached the upstream"
            return
        size = self.size_of(arguments)
        before = len(upstream.image_requests()) if upstream is not None else 0
        if upstream is not None:
            upstream.succeed(arguments["n"], size)
        with anyio.fail_after(self.call_timeout):
            outcome = await self.call(service, provider, operation, arguments)
        result = outcome.result
        assert (result.provider, result.model) == (provider.name, arguments["model"]), "set provider and model"
        assert len(result.images) == arguments["n"], f"asked for {arguments['n']} images, got {len(result.images)}"
        for image, delivered in zip(result.images, outcome.delivered, strict=True):
            self.assert_valid_image(image, size)
            assert delivered.stored.sha256 == image.sha256
        if upstream is not None:
            assert len(upstream.image_requests()) > before, f"{operation.value} never reached the fake upstream"

    async def test_another_size_is_honoured(
        self, provider: ImageProvider, upstream: Upstream | None, service: ImageService
    ) -> None:
        """A valid size other than the one the other checks use comes back at that size (a provider that ignores
        `size` fails here). Nothing to check for a model that accepts one size only."""
        operation = self.first_operation(provider)
        arguments = self.call_arguments(service, provider, operation)
        caps = service.table.get(arguments["model"])
        first = self.size_of(arguments)
        other = _other_size(provider.adapt_capabilities(caps) if caps is not None else None, first)
        if other is None:
            return
        arguments["size"] = f"{other[0]}x{other[1]}"
        if upstream is not None:
            upstream.succeed(arguments["n"], other)
        with anyio.fail_after(self.call_timeout):
            outcome = await self.call(service, provider, operation, arguments)
        for image in outcome.result.images:
            self.assert_valid_image(image, other)

    async def test_has_upstream_is_true(
        self,
        provider: ImageProvider,
        upstream: Upstream | None,
        service: ImageService,
        network_guard: NetworkGuard,
    ) -> None:
        """has_upstream = True: a call reaches the fake. False: every operation and validate() run offline."""
        if self.has_upstream:
            assert isinstance(upstream, Upstream), "the upstream fixture must implement gpt_image_mcp.testing.Upstream"
            arguments = self.call_arguments(service, provider, self.first_operation(provider))
            upstream.succeed(arguments["n"], self.size_of(arguments))
            with anyio.fail_after(self.call_timeout):
                await self.call(service, provider, self.first_operation(provider), arguments)
            assert upstream.image_requests(), "has_upstream is True but the call never reached the fake upstream"
            return
        with anyio.fail_after(self.call_timeout):
            for operation in sorted(provider.operations):
                await self.call(service, provider, operation, self.call_arguments(service, provider, operation))
            await provider.validate()
        assert network_guard.attempts == []

    async def test_end_to_end_through_mcp(
        self, provider: ImageProvider, upstream: Upstream | None, service: ImageService
    ) -> None:
        """One call through `build_server` and the MCP client: images and structured content as promised."""
        from mcp import Client
        from mcp_types import ImageContent

        from gpt_image_mcp.server import build_server

        operation = self.first_operation(provider)
        arguments = self.call_arguments(service, provider, operation)
        size = self.size_of(arguments)
        tool_arguments: dict[str, Any] = {
            "provider": provider.name,
            "model": arguments["model"],
            "size": arguments["size"],
        }
        if "prompt" in arguments:
            tool_arguments["prompt"] = arguments["prompt"]
        if operation is not Operation.GENERATE:
            tool_arguments["image"] = "data:image/png;base64," + _b64(png_bytes(INPUT_SIZE))
        if upstream is not None:
            upstream.succeed(1, size)
        with anyio.fail_after(self.call_timeout):
            async with Client(build_server(service)) as client:
                listed = await client.call_tool("provider_list", {})
                result = await client.call_tool(f"image_{operation.value}", tool_arguments)
        assert not result.is_error, result.content
        entry = next(item for item in listed.structured_content["providers"] if item["name"] == provider.name)
        assert entry["operations"] == sorted(op.value for op in provider.operations)
        assert entry["default_model"] == service.default_model_for(provider)
        structured = result.structured_content
        assert (structured["provider"], structured["model"]) == (provider.name, arguments["model"])
        (info,) = structured["images"]
        assert (info["width"], info["height"]) == size
        blocks = [block for block in result.content if isinstance(block, ImageContent)]
        assert len(blocks) == 1
        inspect_image(_unb64(blocks[0].data))

    async def test_authentication_failure(
        self, provider: ImageProvider, upstream: Upstream, service: ImageService
    ) -> None:
        """HTTP 401 → `AuthenticationError`, not retryable, sent once."""
        upstream.fail(401, "Incorrect API key provided.")
        error, calls = await self.error_for(service, provider, upstream)
        assert isinstance(error, AuthenticationError), f"401 must be AuthenticationError, got {error!r}"
        assert not error.retryable and calls == 1, f"a 401 must not be retried (the upstream saw {calls} calls)"
        assert error.provider == provider.name

    async def test_server_error_is_retryable(
        self, provider: ImageProvider, upstream: Upstream, service: ImageService
    ) -> None:
        """HTTP 5xx → retryable `UpstreamUnavailableError` (after the provider's own retries)."""
        upstream.fail(503, "The server is overloaded. Please try again later.")
        error, calls = await self.error_for(service, provider, upstream)
        assert isinstance(error, UpstreamUnavailableError), f"503 must be UpstreamUnavailableError, got {error!r}"
        assert error.retryable and calls >= 1

    async def test_refusal(self, provider: ImageProvider, upstream: Upstream, service: ImageService) -> None:
        """The upstream's safety refusal → `RefusedError`, never retried (needs `upstream.refuse`)."""
        refuse = getattr(upstream, "refuse", None)
        try:
            if refuse is None:
                raise NotImplementedError
            refuse("Your request was rejected as a result of our safety system.")
        except NotImplementedError:
            pytest.fail(f"{type(upstream).__name__} must play a safety refusal: implement refusal_response()")
        error, calls = await self.error_for(service, provider, upstream)
        assert isinstance(error, RefusedError), f"a safety refusal must be RefusedError, got {error!r}"
        assert not error.retryable and calls == 1, f"a refusal must never be retried (the upstream saw {calls} calls)"

    async def test_cancellation(self, provider: ImageProvider, upstream: Upstream, service: ImageService) -> None:
        """A cancelled call stops at once and closes its upstream connection; nothing is stored."""
        operation = self.first_operation(provider)
        arguments = self.call_arguments(service, provider, operation)
        hang = upstream.hang()
        try:
            with anyio.fail_after(self.call_timeout):
                async with anyio.create_task_group() as group:

                    async def call() -> None:
                        await self.call(service, provider, operation, arguments)

                    group.start_soon(call)
                    arrived = await anyio.to_thread.run_sync(hang.started.wait, self.call_timeout)
                    assert arrived, "the call never reached the fake upstream"
                    cancelled_at = time.monotonic()
                    group.cancel_scope.cancel()
            stopped_after = time.monotonic() - cancelled_at
            assert stopped_after < self.cancel_within, f"the call took {stopped_after:.1f} s to stop"
            closed = await anyio.to_thread.run_sync(hang.closed.wait, self.cancel_within)
            assert closed, "the upstream connection was left open after the call was cancelled"
            assert service.store.recent() == []
        finally:
            hang.release()

    async def test_secrets_are_not_leaked(
        self, provider: ImageProvider, upstream: Upstream, secret: str | None, service: ImageService
    ) -> None:
        """The key never appears in errors, validation reports, MCP results or logs, even when echoed upstream."""
        if secret is None:
            pytest.fail("the secret fixture returned None: configure a credential so that leaks can be checked")
        from mcp import Client

        from gpt_image_mcp.server import build_server

        capture = _LogCapture()
        root = logging.getLogger()
        level = root.level
        root.addHandler(capture)
        root.setLevel(logging.DEBUG)
        texts: dict[str, str] = {}
        try:
            for status in (401, 500):
                upstream.fail(status, f"Incorrect API key provided: {secret}. Bearer {secret} rejected")
                error, _ = await self.error_for(service, provider, upstream)
                texts[f"{status} error"] = f"{error.message}\n{error}\n{json.dumps(error.to_dict())}"
            upstream.fail(401, f"Incorrect API key provided: {secret}")
            with anyio.fail_after(self.call_timeout):
                report = await provider.validate()
                texts["validate() report"] = report.model_dump_json()
                async with Client(build_server(service)) as client:
                    arguments = {"prompt": self.prompt, "provider": provider.name}
                    result = await client.call_tool("image_generate", arguments)
                    texts["MCP result"] = result.model_dump_json()
        finally:
            root.removeHandler(capture)
            root.setLevel(level)
        texts["logs"] = "\n".join(capture.lines)
        leaks = [where for where, text in texts.items() if secret in text]
        assert not leaks, f"the configured key appears in: {', '.join(leaks)}"

    async def test_validate_reports_without_generating(
        self, provider: ImageProvider, upstream: Upstream | None, service: ImageService
    ) -> None:
        """`validate()` returns a report (ok against the healthy fake, not ok on 401) and makes no image call.

        (`service` is requested so that the provider is closed afterwards, as the server would.)"""
        with anyio.fail_after(self.call_timeout):
            report = await provider.validate()
        assert isinstance(report, ValidationReport) and report.provider == provider.name
        assert report.checks and report.ok, f"validate() against the healthy fake: {report}"
        if upstream is None:
            return
        assert upstream.requests(), "validate() made no upstream call: check credentials with one cheap call"
        upstream.fail(401, "Incorrect API key provided.")
        with anyio.fail_after(self.call_timeout):
            refused = await provider.validate()
        assert not refused.ok and any(not check.ok for check in refused.checks), f"401 not reported: {refused}"
        assert upstream.image_requests() == [], "validate() must not generate anything"


def _other_size(caps: ModelCapabilities | None, used: tuple[int, int]) -> tuple[int, int] | None:
    """A valid size of the model other than `used` (presets first, then common sizes its rules allow)."""
    if caps is None:
        return None
    candidates = [*caps.sizes.presets, "512x512", "256x256", "1536x1024", "1024x1536", "768x768", "1024x1024"]
    for candidate in candidates:
        if candidate == "auto" or "x" not in candidate or check_size(candidate, caps):
            continue
        width, height = (int(part) for part in candidate.split("x"))
        if (width, height) != used:
            return width, height
    return None


def input_image(size: tuple[int, int] = INPUT_SIZE) -> InputImage:
    """A PNG with alpha to hand to edits and variations."""
    data = png_bytes(size, (200, 60, 40, 255), mode="RGBA")
    info = inspect_image(data)
    return InputImage(data=data, mime_type=info.mime_type, width=info.width, height=info.height, has_alpha=True)


def direct_request(operation: Operation, arguments: dict[str, Any]) -> ImageRequest:
    """The request a provider method receives, built from service-style arguments."""
    if operation is Operation.GENERATE:
        return GenerateRequest(**arguments)
    if operation is Operation.EDIT:
        return EditRequest(**arguments)
    return VariationRequest(**arguments)


def _b64(data: bytes) -> str:
    import base64

    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    import base64

    return base64.b64decode(text)
