"""Provider selection, model resolution and sink failures in the call path."""

from __future__ import annotations

import re

import pytest
from gpt_image_mcp import (
    GeneratedImage,
    GenerateRequest,
    ImageProvider,
    ImageResult,
    ImageSink,
    Progress,
    SavedImage,
    hookimpl,
)
from gpt_image_mcp.errors import (
    AuthenticationError,
    ConfigurationError,
    InvalidRequestError,
    RateLimitedError,
    RefusedError,
    UpstreamUnavailableError,
)
from gpt_image_mcp.service import Delivery, ImageService
from gpt_image_mcp.settings import load_settings

from tests.helpers import png_bytes

pytestmark = pytest.mark.anyio


class Keyed(ImageProvider):
    name = "keyed"
    accepts_unknown_models = True

    def __init__(self, key: str | None = "k") -> None:
        self.key = key
        self.calls: list[GenerateRequest] = []

    def has_credentials(self) -> bool:
        return self.key is not None

    async def generate(self, request: GenerateRequest, progress: Progress) -> ImageResult:
        self.calls.append(request)
        if request.prompt == "fail":
            raise UpstreamUnavailableError("upstream is down")
        return ImageResult(images=[GeneratedImage.from_bytes(png_bytes())], provider=self.name, model=request.model)


class Broken(ImageSink):
    name = "broken"

    async def save(self, image, context) -> SavedImage:
        raise OSError("disk full")


def _plugin_of(*objects: object) -> object:
    class Plugin:
        @hookimpl
        def register_providers(self, register):
            for obj in objects:
                if isinstance(obj, ImageProvider):
                    register(obj)

        @hookimpl
        def register_sinks(self, register):
            for obj in objects:
                if isinstance(obj, ImageSink):
                    register(obj)

    return Plugin()


def service_with(*objects: object, **settings: object) -> ImageService:
    return ImageService.create(load_settings(**settings), extra_plugins=[("test", _plugin_of(*objects))])


def test_provider_with_credentials_is_auto_detected() -> None:
    assert service_with(Keyed()).default_provider == "keyed"


def test_offline_is_the_default_without_credentials(caplog: pytest.LogCaptureFixture) -> None:
    service = service_with(Keyed(key=None))
    assert service.default_provider == "offline" and list(service.providers) == ["offline"]
    assert "using the offline provider" in caplog.text


def test_provider_setting_names_one_or_several() -> None:
    service = service_with(Keyed(), provider="offline,keyed")
    assert service.default_provider == "offline" and list(service.providers) == ["offline", "keyed"]


def test_unknown_provider_setting_says_how_to_install() -> None:
    with pytest.raises(ConfigurationError, match=r"pip install 'gpt-image-mcp\[azure\]'"):
        service_with(provider="azure", disable_plugins="azure")


def test_an_unknown_provider_that_is_not_bundled_gets_no_install_hint() -> None:
    with pytest.raises(ConfigurationError) as info:
        service_with(provider="nosuch")
    assert "PROVIDER names nosuch, which is not installed" in info.value.message
    assert "pip install" not in info.value.message


class BrokenTable(Keyed):
    name = "brokentable"

    def model_table_layer(self) -> dict[str, dict[str, object]]:
        raise KeyError("vendor")


class BadTable(Keyed):
    name = "badtable"

    def model_table_layer(self) -> dict[str, dict[str, object]]:
        return {"bad-1": {"vendor": "openai", "max_n": "four"}}


class CredentialCrash(Keyed):
    name = "crash"

    def has_credentials(self) -> bool:
        raise RuntimeError("bug in the plugin")


@pytest.mark.parametrize("provider", [BrokenTable(), BadTable()])
def test_a_provider_with_an_unusable_capability_table_is_dropped_with_its_plugin(provider: Keyed) -> None:
    service = service_with(provider)
    assert provider.name not in service.registry.providers and service.default_provider == "offline"
    info = next(info for info in service.registry.plugins if info.name == "test")
    assert info.status == "failed" and f"capability table of provider {provider.name}" in (info.error or "")
    with pytest.raises(ConfigurationError, match=f"PROVIDER names {provider.name}.*Plugins that failed to load: test"):
        service_with(provider, provider=provider.name)
    with pytest.raises(ConfigurationError, match=f"capability table of provider {provider.name} is unusable"):
        service_with(provider, strict_plugins="true")


def test_a_provider_that_cannot_tell_about_its_credentials_is_not_picked(caplog: pytest.LogCaptureFixture) -> None:
    service = service_with(CredentialCrash(), Keyed())
    assert list(service.providers) == ["keyed"]
    assert "Provider crash could not tell whether it has credentials: RuntimeError: bug in the plugin" in caplog.text


async def test_unknown_models_pass_with_a_note_when_the_provider_accepts_them() -> None:
    provider = Keyed()
    outcome = await service_with(provider).generate(prompt="fox", model="gpt-image-9", size="1000x1000")
    assert provider.calls[0].model == "gpt-image-9" and provider.calls[0].size == "1000x1000"
    assert any("not in the capability table" in note for note in outcome.notes)


async def test_models_of_another_vendor_are_refused() -> None:
    with pytest.raises(InvalidRequestError, match="model solid-1 is not served by provider keyed"):
        await service_with(Keyed()).generate(prompt="fox", model="solid-1")


async def test_provider_contributed_table_entries_are_used() -> None:
    service = service_with(provider="solid")
    outcome = await service.generate(prompt="teal", size="512x512", n=2)
    assert outcome.result.model == "solid-1" and len(outcome.result.images) == 2
    with pytest.raises(InvalidRequestError, match="use one of 256x256, 512x512, 1024x1024, auto"):
        await service.generate(prompt="teal", size="2048x2048")


async def test_upstream_errors_carry_provider_and_model() -> None:
    with pytest.raises(UpstreamUnavailableError) as info:
        await service_with(Keyed()).generate(prompt="fail")
    assert (info.value.provider, info.value.model) == ("keyed", "gpt-image-2")


async def test_a_failing_sink_never_loses_the_image() -> None:
    outcome = await service_with(Keyed(), Broken()).generate(
        prompt="fox", delivery=Delivery(sinks=("inline", "broken"))
    )
    assert outcome.delivered[0].inline
    assert any("sink broken could not save image 1: disk full" in note for note in outcome.notes)
    assert outcome.delivered[0].stored.sha256 == outcome.result.images[0].sha256


async def test_retired_model_is_refused_before_the_provider_is_called() -> None:
    provider = Keyed()
    with pytest.raises(InvalidRequestError, match="dall-e-2 was shut down"):
        await service_with(provider).generate(prompt="fox", model="dall-e-2")
    assert provider.calls == []


class Flaky(Keyed):
    """Fails every call with the error it was given."""

    def __init__(self, name: str, error: Exception) -> None:
        super().__init__()
        self.name = name  # type: ignore[misc]
        self.error = error

    async def generate(self, request: GenerateRequest, progress: Progress) -> ImageResult:
        self.calls.append(request)
        raise self.error


async def test_fallback_moves_on_after_a_retryable_failure_and_says_so() -> None:
    down = Flaky("down", UpstreamUnavailableError("upstream is down"))
    service = service_with(down, provider="down", fallback_providers="offline")
    outcome = await service.generate(prompt="fox")
    assert (outcome.result.provider, outcome.result.model) == ("offline", "gpt-image-2")
    assert len(down.calls) == 1
    assert any("fell back from down failed with upstream_unavailable: upstream is down" in n for n in outcome.notes)


@pytest.mark.parametrize(
    "error", [RefusedError("refused by the safety system"), AuthenticationError("bad key")], ids=["refusal", "auth"]
)
async def test_no_fallback_after_a_refusal_or_a_client_error(error: Exception) -> None:
    service = service_with(Flaky("picky", error), provider="picky", fallback_providers="offline")
    with pytest.raises(type(error)):
        await service.generate(prompt="fox")


async def test_no_fallback_after_an_invalid_request() -> None:
    down = Flaky("down", UpstreamUnavailableError("down"))
    service = service_with(down, provider="down", fallback_providers="offline")
    with pytest.raises(InvalidRequestError, match="n must be between"):
        await service.generate(prompt="fox", n=11)
    assert down.calls == []


async def test_when_every_provider_fails_the_error_lists_the_chain() -> None:
    first = Flaky("first", UpstreamUnavailableError("first is down"))
    second = Flaky("second", RateLimitedError("second is busy"))
    service = service_with(first, second, provider="first", fallback_providers="second")
    with pytest.raises(RateLimitedError) as info:
        await service.generate(prompt="fox")
    assert info.value.provider == "second"
    assert "providers tried: first failed with upstream_unavailable: first is down" in info.value.message


def test_unknown_fallback_provider_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="FALLBACK_PROVIDERS names nowhere"):
        service_with(fallback_providers="nowhere")


async def test_a_fallback_that_cannot_take_the_request_does_not_hide_the_upstream_error() -> None:
    busy = Flaky("busy", RateLimitedError("slow down", retry_after=5))
    service = service_with(busy, provider="busy", fallback_providers="solid")
    with pytest.raises(RateLimitedError) as info:
        await service.generate(prompt="fox", model="gpt-image-2")
    assert info.value.retryable and info.value.retry_after == 5 and info.value.provider == "busy"
    assert "not served by provider solid" in info.value.message


def test_a_skipped_plugin_is_a_readiness_warning_not_a_problem() -> None:
    from gpt_image_mcp.http import readiness_problems, readiness_warnings

    service = service_with(BrokenTable())
    assert readiness_problems(service) == []
    (warning,) = readiness_warnings(service)
    assert warning.startswith("plugin test failed and was skipped: capability table of provider brokentable")


async def test_a_wrong_field_is_an_invalid_request_naming_it() -> None:
    with pytest.raises(InvalidRequestError, match="invalid generate request: options: Extra inputs are not permitted"):
        await service_with().generate(prompt="fox", options={"steps": 4})


def test_fallback_providers_are_kept_when_nothing_is_configured() -> None:
    service = service_with(Keyed(key=None), fallback_providers="keyed")
    assert list(service.providers) == ["offline", "keyed"]


def test_readiness_checks_every_provider_used_and_the_default_model() -> None:
    from gpt_image_mcp.http import readiness_problems

    class Unconfigured(Keyed):
        name = "unconfigured"

        def configuration_problems(self) -> list[str]:
            return ["UNCONFIGURED_KEY is not set"]

    service = service_with(Unconfigured(), provider="offline", fallback_providers="unconfigured")
    assert readiness_problems(service) == ["unconfigured: UNCONFIGURED_KEY is not set"]
    (problem,) = readiness_problems(service_with(provider="offline", default_model="nope"))
    assert problem.startswith("offline: its default model cannot be used (DEFAULT_MODEL?): unknown model 'nope'")


OVERRIDING = ["prompt", "model", "n", "size", "quality", "stream", "response_format", "width", "Prompt", "image[]"]


@pytest.mark.parametrize("option", [*OVERRIDING, "extra_body"])
async def test_options_cannot_override_checked_arguments(option: str) -> None:
    provider = Keyed()
    with pytest.raises(InvalidRequestError, match=re.escape(f"options may not set {option}: pass them as the tool")):
        await service_with(provider).generate(prompt="fox", extra={option: "x", "steps": 4})
    assert provider.calls == []
    await service_with(provider).generate(prompt="fox", extra={"steps": 4})
    assert provider.calls[0].extra == {"steps": 4}


async def test_a_subfolder_too_deep_fails_before_the_provider_is_called() -> None:
    provider = Keyed()
    with pytest.raises(InvalidRequestError, match="subfolder may be at most 4 levels deep"):
        await service_with(provider).generate(prompt="fox", delivery=Delivery(subfolder="a/b/c/d/e"))
    assert provider.calls == []


async def test_variations_that_a_provider_lacks_point_to_image_edit() -> None:
    from gpt_image_mcp.errors import UnsupportedOperationError
    from gpt_image_mcp.testing.conformance import input_image

    with pytest.raises(UnsupportedOperationError, match="does not support variation; use image_edit with a prompt"):
        await service_with(Keyed(), provider="keyed").variation(image=input_image())


async def test_a_different_count_or_size_from_upstream_is_noted() -> None:
    outcome = await service_with(Keyed()).generate(prompt="fox", n=2, size="1024x1024")  # Keyed sends one 64x64
    assert "keyed returned 1 image although 2 were asked for" in outcome.notes
    assert "keyed returned 64x64 although 1024x1024 was asked for" in outcome.notes
    exact = await service_with(provider="offline").generate(prompt="fox", n=2, size="1024x1024")
    assert not any("although" in note for note in exact.notes)


def test_readiness_texts_never_show_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    from gpt_image_mcp.http import readiness_problems, readiness_warnings

    class Chatty(Keyed):
        name = "chatty"

        def configuration_problems(self) -> list[str]:
            return ["cannot reach postgres://admin:Hunter2Secret@db.internal/x with token=abcdef123456"]

    class Broken:
        @hookimpl
        def register_providers(self, register):
            raise RuntimeError("refused with password=Hunter2Secret")

    service = ImageService.create(
        load_settings(provider="chatty"), extra_plugins=[("test", _plugin_of(Chatty())), ("broken", Broken())]
    )
    texts = " ".join([*readiness_problems(service), *readiness_warnings(service)])
    assert "Hunter2Secret" not in texts and "abcdef123456" not in texts
    assert "admin:***@db.internal" in texts


async def test_the_end_user_id_travels_in_options() -> None:
    provider = Keyed()
    await service_with(provider).generate(prompt="fox", extra={"user": "alice-1234"})
    assert provider.calls[0].extra == {"user": "alice-1234"}


def test_readiness_probes_do_not_log_a_warning_each_time(caplog: pytest.LogCaptureFixture) -> None:
    from gpt_image_mcp.http import readiness_problems

    service = service_with(Keyed(), default_model="brand-new-model")
    caplog.clear()
    for _ in range(3):
        assert readiness_problems(service) == []
    assert "not in the capability table" not in caplog.text


def test_a_dropped_plugin_leaves_none_of_its_capability_entries() -> None:
    class Overrider(Keyed):
        name = "overrider"

        def model_table_layer(self) -> dict[str, dict[str, object]]:
            return {"gpt-image-2": {"max_n": 99}}

    service = service_with(Overrider(), BrokenTable())  # one plugin: the second provider's table fails
    assert "overrider" not in service.registry.providers
    assert service.table.get("gpt-image-2").max_n == 10
