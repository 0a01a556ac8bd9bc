"""Public names of a package, imported on first access (PEP 562).

A plugin's package is imported at every server start, so its `__init__` should import only what registering
the plugin needs. With `lazy_exports` the rest of its public API is still importable from the package:

    _EXPORTS = {"MyProvider": "provider", "MySettings": "settings"}   # name -> submodule defining it
    __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, exports: Mapping[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A module `__getattr__` and `__dir__` for `package` that import `exports[name]` when `name` is first used."""
    namespace = sys.modules[package].__dict__

    def __getattr__(name: str) -> Any:
        submodule = exports.get(name)
        if submodule is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{submodule}"), name)
        namespace[name] = value  # later lookups find it without calling here
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *exports})

    return __getattr__, __dir__
