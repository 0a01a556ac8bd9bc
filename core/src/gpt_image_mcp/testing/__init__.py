"""Testing helpers for plugin authors: the provider conformance kit.

    from gpt_image_mcp.testing import HTTPServerUpstream, ProviderConformance

    class TestMyProvider(ProviderConformance):
        plugin_name = "myprovider"

        @pytest.fixture
        def provider(self, upstream, monkeypatch): ...   # configured against the fake, retries off
        @pytest.fixture
        def upstream(self, httpserver): ...             # an Upstream, e.g. an HTTPServerUpstream subclass
        @pytest.fixture
        def secret(self): ...                           # the key the provider fixture configured

This package needs pytest (and anyio's pytest plugin, installed with core). Core itself never imports it, so
pytest stays a test-time dependency. `HTTPServerUpstream` additionally needs pytest-httpserver.
"""

try:
    import pytest  # noqa: F401 - fail early with a clear message
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("gpt_image_mcp.testing is a pytest helper: install pytest to use it") from exc

from gpt_image_mcp.testing.conformance import NetworkGuard, ProviderConformance, input_image
from gpt_image_mcp.testing.recorders import RecordingProgress, RecordingSleep
from gpt_image_mcp.testing.upstream import Hang, HTTPServerUpstream, RecordedRequest, Upstream, png_bytes

__all__ = [
    "HTTPServerUpstream",
    "Hang",
    "NetworkGuard",
    "ProviderConformance",
    "RecordedRequest",
    "RecordingProgress",
    "RecordingSleep",
    "Upstream",
    "input_image",
    "png_bytes",
]
