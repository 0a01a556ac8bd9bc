"""Plugins' public names are imported on first access, and only then."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    ("package", "name", "submodule"),
    [
        ("gpt_image_mcp_openai", "OpenAIProvider", "provider"),
        ("gpt_image_mcp_azure", "EntraTokenProvider", "identity"),
        ("gpt_image_mcp_custom", "fetch_image", "fetch"),
        ("gpt_image_mcp_together", "TogetherProvider", "provider"),
    ],
)
def test_a_public_name_loads_its_submodule_on_first_access_only(package: str, name: str, submodule: str) -> None:
    code = (
        f"import sys, {package} as p\n"
        f"assert '{package}.{submodule}' not in sys.modules, 'imported at start'\n"
        f"assert '{name}' in dir(p)\n"
        f"value = p.{name}\n"
        f"assert '{package}.{submodule}' in sys.modules\n"
        f"assert p.__dict__['{name}'] is value\n"
        f"from {package} import {name} as again\n"
        f"assert again is value\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_an_unknown_name_is_an_attribute_error() -> None:
    package = importlib.import_module("gpt_image_mcp_openai")
    with pytest.raises(AttributeError, match="has no attribute 'Nope'"):
        package.Nope  # noqa: B018
