"""Per-model capabilities, kept as data: core ships a table, plugins and users extend or override it."""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Iterable, Mapping
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gpt_image_mcp.errors import ConfigurationError
from gpt_image_mcp.types import Operation


class SizeRules(BaseModel):
    """Which sizes a model accepts: exact presets, a rule set, or both (either one admits a size)."""

    model_config = ConfigDict(extra="forbid")

    allow_auto: bool = True
    presets: list[str] = Field(default_factory=list)
    multiple_of: int | None = None
    min_edge: int | None = None
    max_edge: int | None = None
    max_ratio: float | None = None
    min_pixels: int | None = None
    max_pixels: int | None = None

    @property
    def has_rules(self) -> bool:
        return any(
            value is not None
            for value in (
                self.multiple_of,
                self.min_edge,
                self.max_edge,
                self.max_ratio,
                self.min_pixels,
                self.max_pixels,
            )
        )


class ModelCapabilities(BaseModel):
    """Everything the server checks about a model before it spends money upstream."""

    model_config = ConfigDict(extra="forbid")

    name: str
    title: str = ""
    vendor: str = "openai"
    operations: frozenset[Operation] = frozenset({Operation.GENERATE})
    sizes: SizeRules = Field(default_factory=SizeRules)
    default_size: str = "auto"
    qualities: list[str] = Field(default_factory=lambda: ["auto"])
    backgrounds: list[str] = Field(default_factory=lambda: ["auto"])
    output_formats: list[str] = Field(default_factory=lambda: ["png"])
    moderation: list[str] = Field(default_factory=list)
    input_fidelity: list[str] = Field(default_factory=list)
    max_n: int = Field(1, ge=1)
    max_prompt_chars: int = Field(32000, ge=1)
    max_edit_images: int = Field(1, ge=0)
    max_partial_images: int = Field(0, ge=0)
    retired: bool = False
    shutdown_date: date | None = None
    replacement: str | None = None
    notes: str = ""

    def supports(self, operation: Operation) -> bool:
        return operation in self.operations

    def retirement_message(self) -> str:
        when = f" on {self.shutdown_date.isoformat()}" if self.shutdown_date else ""
        instead = f"; use {self.replacement} instead" if self.replacement else ""
        return f"model {self.name} was shut down upstream{when}{instead}"


def _default_table_data() -> dict[str, Any]:
    text = resources.files("gpt_image_mcp").joinpath("data/models.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


class ModelTable:
    """An immutable mapping of model name to capabilities, built from one or more TOML-shaped layers.

    Later layers override earlier ones field by field (nested tables such as `sizes` merge too), so a
    user's file can change one value of a shipped entry without copying the rest.
    """

    def __init__(self, raw: Mapping[str, Mapping[str, Any]], *, source: str = "table") -> None:
        self._raw = {name: dict(entry) for name, entry in raw.items()}
        self._models = _build(self._raw, source)

    @classmethod
    def default(cls) -> ModelTable:
        return cls(_default_table_data().get("models", {}), source="built-in table")

    def with_layer(self, raw: Mapping[str, Mapping[str, Any]], *, source: str) -> ModelTable:
        merged = copy.deepcopy(self._raw)
        for name, entry in raw.items():
            merged[name] = _deep_merge(merged.get(name, {}), entry)
        table = ModelTable.__new__(ModelTable)
        table._raw = merged
        table._models = _build(merged, source)
        return table

    def with_file(self, path: Path) -> ModelTable:
        from gpt_image_mcp.safe_files import read_text_file

        try:
            text = read_text_file(path, limit=16 * 1024 * 1024)
        except ValueError as exc:
            raise ConfigurationError(f"model capabilities file: {exc}") from None
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigurationError(f"model capabilities file {path} cannot be read: {exc}") from exc
        models = data.get("models")
        if not isinstance(models, dict):
            raise ConfigurationError(f'model capabilities file {path} has no [models."<name>"] tables')
        return self.with_layer(models, source=str(path))

    def get(self, name: str) -> ModelCapabilities | None:
        return self._models.get(name)

    def names(self) -> list[str]:
        return list(self._models)

    def __iter__(self) -> Iterable[ModelCapabilities]:  # type: ignore[override]
        return iter(self._models.values())

    def __contains__(self, name: object) -> bool:
        return name in self._models


def _deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _resolve_extends(name: str, raw: Mapping[str, Mapping[str, Any]], seen: tuple[str, ...]) -> dict[str, Any]:
    entry = dict(raw[name])
    parent = entry.pop("extends", None)
    if parent is None:
        return entry
    if parent in seen or parent not in raw:
        problem = "a cycle" if parent in seen else f"unknown model {parent!r}"
        raise ConfigurationError(f"model {name!r} extends {problem}")
    return _deep_merge(_resolve_extends(parent, raw, (*seen, parent)), entry)


def _build(raw: Mapping[str, Mapping[str, Any]], source: str) -> dict[str, ModelCapabilities]:
    models: dict[str, ModelCapabilities] = {}
    problems: list[str] = []
    for name in raw:
        try:
            entry = _resolve_extends(name, raw, (name,))
            entry.pop("name", None)
            models[name] = ModelCapabilities(name=name, **entry)
        except ValidationError as exc:
            for error in exc.errors():
                where = ".".join(str(part) for part in error["loc"])
                problems.append(f"models.{name}.{where}: {error['msg']}")
        except ConfigurationError as exc:
            problems.append(str(exc))
    if problems:
        raise ConfigurationError(f"invalid model capabilities in {source}: " + "; ".join(problems))
    return models
