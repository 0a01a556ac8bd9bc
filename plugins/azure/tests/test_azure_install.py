"""The azure plugin as installed: real metadata, discovery through its entry point, lazy SDK imports."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import distribution

from gpt_image_mcp.plugins import load_registry
from gpt_image_mcp_azure import AzureOpenAIProvider


def test_distribution_metadata_declares_the_entry_point() -> None:
    dist = distribution("gpt-image-mcp-azure")

    assert dist.version == "0.1.0"
    entry_points = [ep for ep in dist.entry_points if ep.group == "gpt_image_mcp"]
    assert [(ep.name, ep.value) for ep in entry_points] == [("azure", "gpt_image_mcp_azure.plugin")]
    requires = dist.requires or []
    for pin in ("gpt-image-mcp-core==0.1.0", "gpt-image-mcp-openai==0.1.0", "azure-identity==1.27.0"):
        assert pin in requires
    assert all("==" in requirement for requirement in requires)


def test_registry_discovers_the_provider_owned_by_its_plugin() -> None:
    registry = load_registry()

    assert isinstance(registry.providers["azure"], AzureOpenAIProvider)
    assert registry.owner("provider", "azure") == "azure"
    info = next(info for info in registry.plugins if info.name == "azure")
    assert (info.distribution, info.version, info.status, info.builtin) == (
        "gpt-image-mcp-azure",
        "0.1.0",
        "loaded",
        False,
    )
    assert info.hooks == ["register_providers"]


def test_loading_and_configuring_imports_neither_openai_nor_azure_identity() -> None:
    code = (
        "import sys; from gpt_image_mcp.plugins import load_registry; p = load_registry().providers['azure']; "
        "p.has_credentials(); p.configuration_problems(); p.default_model(); "
        "print(sorted(m for m in ('openai', 'azure.identity', 'azure.core') if m in sys.modules))"
    )
    env = dict(os.environ, AZURE_OPENAI_ENDPOINT="https://res.openai.azure.com", AZURE_OPENAI_DEPLOYMENT="images")
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env, check=False
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
