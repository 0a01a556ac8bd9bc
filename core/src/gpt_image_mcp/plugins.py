"""Loading plugins: built-ins first, then entry points of the `gpt_image_mcp` group, failures isolated."""

from __future__ import annotations

import importlib
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Literal

import pluggy

from gpt_image_mcp import hookspecs
from gpt_image_mcp.errors import PluginError
from gpt_image_mcp.provider import ImageProvider
from gpt_image_mcp.secrets_mask import mask_secrets
from gpt_image_mcp.sink import ImageSink

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "gpt_image_mcp"
DEFAULT_PLUGINS = (
    "gpt_image_mcp.default_plugins.offline",
    "gpt_image_mcp.default_plugins.inline_sink",
    "gpt_image_mcp.default_plugins.workspace_sink",
)
#: Provider and sink names: what PROVIDER, DEFAULT_SINKS and the tools' arguments can select (they are lower-cased).
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


@dataclass
class PluginInfo:
    """One loaded (or failed) plugin, as `gpt-image-mcp plugins` prints it."""

    name: str
    distribution: str | None
    version: str | None
    hooks: list[str] = field(default_factory=list)
    status: Literal["loaded", "failed", "disabled"] = "loaded"
    error: str | None = None
    builtin: bool = False

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name,
            "distribution": self.distribution,
            "version": self.version,
            "hooks": self.hooks,
            "status": self.status,
            "builtin": self.builtin,
        }
        if self.error:
            data["error"] = self.error
        return data


@dataclass
class PluginSelection:
    """Which entry-point plugins to load: all, an allow-list, minus a block-list; strict raises on failure."""

    allow: frozenset[str] | None = None
    block: frozenset[str] = frozenset()
    strict: bool = False
    load_entry_points: bool = True

    def permits(self, name: str) -> bool:
        return name not in self.block and (self.allow is None or name in self.allow)


@dataclass
class Registry:
    """Providers and sinks contributed by every loaded plugin, with who contributed them."""

    providers: dict[str, ImageProvider] = field(default_factory=dict)
    sinks: dict[str, ImageSink] = field(default_factory=dict)
    owners: dict[tuple[str, str], str] = field(default_factory=dict)
    plugins: list[PluginInfo] = field(default_factory=list)
    #: Loaded plugins that failed afterwards (in a hook, or their capability table) and were dropped.
    dropped: set[str] = field(default_factory=set)

    def owner(self, kind: str, name: str) -> str:
        return self.owners[(kind, name)]

    def failed_plugins(self) -> list[PluginInfo]:
        return [info for info in self.plugins if info.status == "failed"]

    def drop(self, plugin_name: str, reason: str) -> None:
        """Mark a loaded plugin failed and remove every provider and sink it registered: it is skipped whole."""
        self.dropped.add(plugin_name)
        for info in self.plugins:
            if info.name == plugin_name and info.status == "loaded":
                info.status, info.error = "failed", reason
        for (kind, name), owner in list(self.owners.items()):
            if owner == plugin_name:
                del self.owners[(kind, name)]
                (self.providers if kind == "provider" else self.sinks).pop(name, None)


def _plugin_manager() -> pluggy.PluginManager:
    manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    return manager


def load_registry(
    selection: PluginSelection | None = None,
    *,
    extra_plugins: Iterable[tuple[str, object]] = (),
) -> Registry:
    """Build the registry: built-ins, then entry points, then `extra_plugins` (tests use those)."""
    selection = selection or PluginSelection()
    manager = _plugin_manager()
    registry = Registry()

    for module_name in DEFAULT_PLUGINS:
        module = importlib.import_module(module_name)
        name = module_name.rsplit(".", 1)[-1]
        manager.register(module, name=name)
        registry.plugins.append(_info(manager, name, module, None, builtin=True))

    if selection.load_entry_points:
        for entry_point in _entry_points():
            _load_entry_point(manager, registry, entry_point, selection)

    for name, plugin in extra_plugins:
        manager.register(plugin, name=name)
        registry.plugins.append(_info(manager, name, plugin, None))

    _collect(manager, registry, "register_providers", "provider", registry.providers, ImageProvider, selection)
    _collect(manager, registry, "register_sinks", "sink", registry.sinks, ImageSink, selection)
    return registry


def _entry_points() -> list[EntryPoint]:
    # Several installs of one distribution (e.g. editable + regular) must not load twice.
    unique: dict[str, EntryPoint] = {}
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        unique.setdefault(entry_point.name, entry_point)
    return sorted(unique.values(), key=lambda ep: ep.name)


def _load_entry_point(
    manager: pluggy.PluginManager, registry: Registry, entry_point: EntryPoint, selection: PluginSelection
) -> None:
    dist = entry_point.dist
    metadata = dist.metadata if dist else None  # parsed once: `dist.version` would parse the file again
    dist_name = metadata["Name"] if metadata is not None else None
    version = metadata["Version"] if metadata is not None else None
    if not selection.permits(entry_point.name):
        registry.plugins.append(
            PluginInfo(name=entry_point.name, distribution=dist_name, version=version, status="disabled")
        )
        return
    try:
        if manager.has_plugin(entry_point.name):
            raise PluginError(
                f"its entry point is named {entry_point.name!r}, like a built-in plugin, which it cannot replace; "
                f"GPT_IMAGE_MCP_DISABLE_PLUGINS={entry_point.name} skips it without this warning"
            )
        plugin = entry_point.load()
        manager.register(plugin, name=entry_point.name)
    except Exception as exc:
        reason = mask_secrets(str(exc) if isinstance(exc, PluginError) else f"{type(exc).__name__}: {exc}")
        if selection.strict:
            raise PluginError(f"plugin {entry_point.name!r} ({dist_name}) failed to load: {reason}") from exc
        logger.warning("Skipping plugin %r (%s): it failed to load: %s", entry_point.name, dist_name, reason)
        registry.plugins.append(
            PluginInfo(name=entry_point.name, distribution=dist_name, version=version, status="failed", error=reason)
        )
        return
    registry.plugins.append(_info(manager, entry_point.name, plugin, dist_name, version=version))


def _info(
    manager: pluggy.PluginManager,
    name: str,
    plugin: object,
    distribution: str | None,
    *,
    version: str | None = None,
    builtin: bool = False,
) -> PluginInfo:
    hooks = sorted(caller.name for caller in manager.get_hookcallers(plugin) or [])
    if builtin:
        from gpt_image_mcp import __version__

        distribution, version = "gpt-image-mcp-core", __version__
    return PluginInfo(name=name, distribution=distribution, version=version, hooks=hooks, builtin=builtin)


def _collect(
    manager: pluggy.PluginManager,
    registry: Registry,
    hook_name: str,
    kind: str,
    target: dict[str, Any],
    expected: type,
    selection: PluginSelection,
) -> None:
    """Call one registration hook plugin by plugin, so a failing plugin is isolated and named.

    What a plugin registers is kept only when its hook returns: a plugin whose hook raises, or that registers
    something the registry refuses (a wrong object, a bad or taken name), is skipped whole, with the reason.
    """
    hook = getattr(manager.hook, hook_name)
    # In registration order (built-ins first), so a duplicate is blamed on the later plugin.
    for impl in hook.get_hookimpls():
        plugin_name = impl.plugin_name
        if plugin_name in registry.dropped:
            continue
        staged: dict[str, Any] = {}

        def register(obj: Any, _plugin: str = plugin_name, _staged: dict[str, Any] = staged) -> None:
            if not isinstance(obj, expected):
                raise PluginError(f"it registered {obj!r}, which is not an {expected.__name__}")
            name = getattr(obj, "name", None)
            if not isinstance(name, str) or not NAME_PATTERN.match(name):
                raise PluginError(
                    f"it registered a {kind} named {name!r}: a name is lower-case letters, digits, '_', '-' or '.'"
                )
            if name in _staged:
                raise PluginError(f"it registers the {kind} name {name!r} twice")
            if name in target:
                first = registry.owner(kind, name)
                remedy = f"GPT_IMAGE_MCP_DISABLE_PLUGINS={_plugin}"
                if not _is_builtin(registry, first):
                    remedy = f"{remedy} (or ={first} to keep this one)"
                raise PluginError(
                    f"{kind} name {name!r} is registered twice: by plugin {first!r} and by plugin {_plugin!r}; "
                    f"{remedy} disables one of them"
                )
            _staged[name] = obj

        try:
            impl.function(register=register)
        except Exception as exc:
            reason = mask_secrets(str(exc) if isinstance(exc, PluginError) else f"{type(exc).__name__}: {exc}")
            if selection.strict or _is_builtin(registry, plugin_name):
                raise PluginError(f"plugin {plugin_name!r} failed in {hook_name}: {reason}") from exc
            logger.warning("Plugin %r failed in %s and is skipped: %s", plugin_name, hook_name, reason)
            registry.drop(plugin_name, f"{hook_name}: {reason}")
            continue
        for name, obj in staged.items():
            target[name] = obj
            registry.owners[(kind, name)] = plugin_name


def _is_builtin(registry: Registry, plugin_name: str) -> bool:
    return any(info.name == plugin_name and info.builtin for info in registry.plugins)
