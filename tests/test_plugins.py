"""Plugin loading: built-ins, real entry points from installed metadata, isolation, strict mode, lists."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
from gpt_image_mcp import ImageProvider, ImageSink, hookimpl
from gpt_image_mcp.errors import PluginError
from gpt_image_mcp.plugins import PluginSelection, load_registry


def install_fake_distribution(site: Path, dist: str, module: str, source: str, entry_name: str) -> None:
    """Lay out a distribution exactly as pip installs one: a module plus a .dist-info with entry points."""
    (site / f"{module}.py").write_text(textwrap.dedent(source))
    info = site / f"{dist.replace('-', '_')}-1.2.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.2.3\n")
    (info / "entry_points.txt").write_text(f"[gpt_image_mcp]\n{entry_name} = {module}\n")


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "site"
    directory.mkdir()
    monkeypatch.syspath_prepend(str(directory))
    yield directory
    for name in [n for n in sys.modules if n.startswith("fakeplug_")]:
        del sys.modules[name]


class Named(ImageSink):
    def __init__(self, name: str) -> None:
        self.name = name


GOOD = """
    from gpt_image_mcp import ImageProvider, hookimpl

    class Echo(ImageProvider):
        name = "echo"

    @hookimpl
    def register_providers(register):
        register(Echo())
"""


def test_builtins_come_first_and_are_described() -> None:
    registry = load_registry(PluginSelection(load_entry_points=False))
    assert [info.name for info in registry.plugins] == ["offline", "inline_sink", "workspace_sink"]
    assert registry.plugins[0].hooks == ["register_providers"] and registry.plugins[0].builtin
    assert "offline" in registry.providers and {"inline", "workspace"} <= set(registry.sinks)
    assert registry.owner("provider", "offline") == "offline"


def test_installed_example_plugin_is_discovered_through_its_metadata() -> None:
    registry = load_registry()
    info = next(info for info in registry.plugins if info.name == "solid")
    assert (info.distribution, info.version, info.status) == ("gpt-image-mcp-solid", "0.1.0", "loaded")
    assert info.hooks == ["register_providers"]
    assert registry.owner("provider", "solid") == "solid"


def test_example_plugin_is_installed_from_its_wheel_like_a_published_plugin() -> None:
    """CI installs the example as pip installs a package from an index: a built wheel, not an editable link."""
    import json
    from importlib.metadata import distribution

    import gpt_image_mcp_solid

    dist = distribution("gpt-image-mcp-solid")
    direct_url = json.loads(dist.read_text("direct_url.json") or "{}")
    assert not direct_url.get("dir_info", {}).get("editable", False)
    module = Path(gpt_image_mcp_solid.__file__).resolve()
    assert "site-packages" in module.parts and "examples" not in module.parts


def test_a_new_distribution_on_the_path_is_discovered(site: Path) -> None:
    install_fake_distribution(site, "fakeplug-good", "fakeplug_good", GOOD, "echo")
    registry = load_registry()
    info = next(info for info in registry.plugins if info.name == "echo")
    assert (info.distribution, info.version, info.status) == ("fakeplug-good", "1.2.3", "loaded")
    assert "echo" in registry.providers


def test_a_plugin_that_fails_to_import_is_skipped_and_reported(site: Path, caplog: pytest.LogCaptureFixture) -> None:
    install_fake_distribution(site, "fakeplug-broken", "fakeplug_broken", "raise ImportError('no sdk here')", "broken")
    registry = load_registry()
    info = next(info for info in registry.plugins if info.name == "broken")
    assert info.status == "failed" and info.error == "ImportError: no sdk here"
    assert "offline" in registry.providers
    assert "Skipping plugin 'broken'" in caplog.text


def test_strict_mode_turns_a_broken_plugin_into_an_error(site: Path) -> None:
    install_fake_distribution(site, "fakeplug-broken", "fakeplug_broken", "1/0", "broken")
    with pytest.raises(PluginError, match=r"plugin 'broken' \(fakeplug-broken\) failed to load: ZeroDivisionError"):
        load_registry(PluginSelection(strict=True))


def test_a_plugin_whose_hook_raises_is_isolated(site: Path) -> None:
    source = """
        from gpt_image_mcp import hookimpl

        @hookimpl
        def register_providers(register):
            raise RuntimeError("cannot start")
    """
    install_fake_distribution(site, "fakeplug-hook", "fakeplug_hook", source, "hooky")
    registry = load_registry()
    info = next(info for info in registry.plugins if info.name == "hooky")
    assert info.status == "failed" and "RuntimeError: cannot start" in (info.error or "")
    with pytest.raises(PluginError, match="cannot start"):
        load_registry(PluginSelection(strict=True))


def test_allow_and_block_lists(site: Path) -> None:
    install_fake_distribution(site, "fakeplug-good", "fakeplug_good", GOOD, "echo")
    blocked = load_registry(PluginSelection(block=frozenset({"echo"})))
    assert "echo" not in blocked.providers
    assert next(i for i in blocked.plugins if i.name == "echo").status == "disabled"
    allowed = load_registry(PluginSelection(allow=frozenset({"echo"})))
    assert "echo" in allowed.providers and "solid" not in allowed.providers
    assert "offline" in allowed.providers  # built-ins are always there


def test_a_duplicate_name_skips_the_later_plugin_naming_both(site: Path) -> None:
    source = GOOD.replace('name = "echo"', 'name = "offline"')
    install_fake_distribution(site, "fakeplug-dup", "fakeplug_dup", source, "impostor")
    registry = load_registry()
    info = next(info for info in registry.plugins if info.name == "impostor")
    assert info.status == "failed"
    assert "registered twice: by plugin 'offline' and by plugin 'impostor'" in (info.error or "")
    assert "GPT_IMAGE_MCP_DISABLE_PLUGINS=impostor" in (info.error or "")
    assert registry.owner("provider", "offline") == "offline"
    with pytest.raises(PluginError, match="registered twice: by plugin 'offline' and by plugin 'impostor'"):
        load_registry(PluginSelection(strict=True))


class Echo(ImageProvider):
    name = "echo"


def echo_plugin(*, then_raise: bool = False, sinks_raise: bool = False) -> object:
    """A throwaway plugin registering an `Echo`; it can fail after that, in the same or in a later hook."""

    class Plugin:
        @hookimpl
        def register_providers(self, register):
            register(Echo())
            if then_raise:
                raise ValueError("after register")

        @hookimpl
        def register_sinks(self, register):
            if sinks_raise:
                raise RuntimeError("no sink today")

    return Plugin()


def test_two_third_party_plugins_with_one_name_say_how_to_keep_either() -> None:
    registry = load_registry(
        PluginSelection(load_entry_points=False), extra_plugins=[("first", echo_plugin()), ("second", echo_plugin())]
    )
    assert registry.owner("provider", "echo") == "first"
    error = next(info for info in registry.plugins if info.name == "second").error or ""
    assert "GPT_IMAGE_MCP_DISABLE_PLUGINS=second (or =first to keep this one)" in error


@pytest.mark.parametrize(
    ("register_calls", "reason"),
    [
        (lambda register: register(object()), "not an ImageSink"),
        (lambda register: register(Named("")), "a sink named ''"),
        (lambda register: register(Named("Upper")), "a sink named 'Upper': a name is lower-case"),
        (lambda register: [register(Named("two")), register(Named("two"))], "registers the sink name 'two' twice"),
        (lambda register: [register(Named("kept-back")), register(object())], "not an ImageSink"),
    ],
)
def test_a_refused_registration_skips_the_plugin_whole(register_calls, reason: str) -> None:
    class Plugin:
        @hookimpl
        def register_sinks(self, register):
            register_calls(register)

    registry = load_registry(PluginSelection(load_entry_points=False), extra_plugins=[("bad", Plugin())])
    info = next(info for info in registry.plugins if info.name == "bad")
    assert info.status == "failed" and reason in (info.error or "")
    assert set(registry.sinks) == {"inline", "workspace"}
    with pytest.raises(PluginError, match=reason.split(":")[0]):
        load_registry(PluginSelection(load_entry_points=False, strict=True), extra_plugins=[("bad", Plugin())])


def test_a_plugin_failing_in_a_later_hook_loses_what_it_registered_earlier() -> None:
    plugin = echo_plugin(sinks_raise=True)
    registry = load_registry(PluginSelection(load_entry_points=False), extra_plugins=[("half", plugin)])
    assert "echo" not in registry.providers and ("provider", "echo") not in registry.owners
    assert next(info for info in registry.plugins if info.name == "half").status == "failed"


def test_a_hook_that_raises_after_registering_leaves_nothing_behind() -> None:
    plugin = echo_plugin(then_raise=True)
    registry = load_registry(PluginSelection(load_entry_points=False), extra_plugins=[("late", plugin)])
    assert "echo" not in registry.providers


def test_an_entry_point_named_like_a_built_in_is_skipped(site: Path) -> None:
    install_fake_distribution(site, "fakeplug-builtin", "fakeplug_builtin", GOOD, "offline")
    registry = load_registry()
    failed = [info for info in registry.plugins if info.name == "offline" and info.status == "failed"]
    assert len(failed) == 1 and "GPT_IMAGE_MCP_DISABLE_PLUGINS=offline" in (failed[0].error or "")
    assert "echo" not in registry.providers and registry.owner("provider", "offline") == "offline"
    quiet = load_registry(PluginSelection(block=frozenset({"offline"})))
    assert not quiet.failed_plugins() and "offline" in quiet.providers


def test_throwaway_plugins_for_one_test() -> None:
    class Null(ImageSink):
        name = "null"

    class Quiet(ImageProvider):
        name = "quiet"

    class Plugin:
        @hookimpl
        def register_sinks(self, register):
            register(Null())

        @hookimpl
        def register_providers(self, register):
            register(Quiet())

    registry = load_registry(PluginSelection(load_entry_points=False), extra_plugins=[("throwaway", Plugin())])
    assert registry.owner("sink", "null") == "throwaway" and registry.owner("provider", "quiet") == "throwaway"
