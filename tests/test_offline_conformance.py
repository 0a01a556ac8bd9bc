"""The built-in offline provider against core's conformance kit. It has no upstream: it declares so, and the kit
checks that claim by blocking every socket while all of its operations and validate() run."""

from __future__ import annotations

import pytest
from gpt_image_mcp.default_plugins.offline import OfflineProvider
from gpt_image_mcp.testing import ProviderConformance


class TestOfflineConformance(ProviderConformance):
    has_upstream = False
    plugin_name = "offline"

    @pytest.fixture
    def provider(self):
        return OfflineProvider()
