"""The conformance kit itself: it passes a correct provider and catches each way a provider can break the
contract. Providers with one defect each are installed as a real plugin distribution on a temporary path, and
the kit runs against them in a pytest subprocess; the JUnit report says which checks failed."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

PLUGIN = """
import os

import anyio
import gpt_image_mcp as gim
import httpx2

ERRORS = {401: gim.AuthenticationError, 451: gim.RefusedError}


class Good(gim.ImageProvider):
    name = "good"
    description = "Keeps the contract."
    vendors = frozenset({"paint"})

    def model_table_layer(self):
        return {"paint-1": {"vendor": "paint", "sizes": {"presets": ["256x256"]}, "default_size": "256x256",
                            "max_n": 4}}

    def default_model(self):
        return "paint-1"

    async def generate(self, request, progress):
        response = await self.send("POST", "/paint", {"prompt": request.prompt})
        return self.result(request, response.content)

    def result(self, request, data):
        image = gim.GeneratedImage.from_bytes(data)
        return gim.ImageResult(images=[image] * request.n, provider=self.name, model=request.model)

    async def validate(self):
        try:
            await self.send("GET", "/health")
            check = gim.CheckResult(name="upstream", ok=True, detail="ok")
        except gim.ImageMCPError as exc:
            check = gim.CheckResult(name="upstream", ok=False, detail=exc.message)
        return gim.ValidationReport(provider=self.name, ok=check.ok, checks=[check])

    async def send(self, method, path, body=None):
        headers = {"Authorization": "Bearer " + os.environ["PAINT_KEY"]}
        try:
            async with httpx2.AsyncClient(base_url=os.environ["PAINT_URL"], headers=headers, timeout=30) as client:
                response = await client.request(method, path, json=body)
        except httpx2.HTTPError as exc:
            raise gim.UpstreamUnavailableError(f"unreachable: {type(exc).__name__}") from exc
        if response.status_code >= 400:
            raise self.error(response)
        return response

    def error(self, response):
        status = response.status_code
        kind = ERRORS.get(status, gim.UpstreamUnavailableError if status >= 500 else gim.InvalidRequestError)
        return kind(f"HTTP {status}", http_status=status)


class Leaky(Good):
    name = "leaky"

    def error(self, response):
        return type(super().error(response))(f"HTTP {response.status_code}: {response.text}")


class Misclassified(Good):
    name = "misclassified"

    def error(self, response):
        return gim.InvalidRequestError(f"HTTP {response.status_code}")


class Lying(Good):
    name = "lying"

    def result(self, request, data):
        image = gim.GeneratedImage(data=data, mime_type="image/png", width=1024, height=1024)
        return gim.ImageResult(images=[image] * request.n, provider=self.name, model=request.model)


class Undeclared(Good):
    name = "undeclared"  # declares generate only, yet its edit goes upstream

    async def edit(self, request, progress):
        return self.result(request, (await self.send("POST", "/paint", {})).content)


class Uncancellable(Good):
    name = "uncancellable"

    async def send(self, method, path, body=None):
        with anyio.CancelScope(shield=True):
            return await super().send(method, path, body)


class NoValidate(Good):
    name = "novalidate"
    validate = gim.ImageProvider.validate


class SecretlyOnline(Good):
    name = "secretlyonline"


class Stubborn(gim.ImageProvider):
    name = "stubborn"  # draws locally, always at its default size, whatever size was asked for
    description = "Ignores size."
    vendors = frozenset({"local"})

    def model_table_layer(self):
        return {"local-1": {"vendor": "local", "sizes": {"presets": ["256x256", "512x512"]},
                            "default_size": "256x256", "max_n": 2}}

    def default_model(self):
        return "local-1"

    async def generate(self, request, progress):
        from gpt_image_mcp.testing import png_bytes

        image = gim.GeneratedImage.from_bytes(png_bytes((256, 256)))
        return gim.ImageResult(images=[image] * request.n, provider=self.name, model=request.model)


@gim.hookimpl
def register_providers(register):
    broken = (Leaky, Misclassified, Lying, Undeclared, Uncancellable, NoValidate, SecretlyOnline, Stubborn)
    for provider in (Good, *broken):
        register(provider())
"""

TESTS = """
import re

import brokenpaint
import gpt_image_mcp.testing.upstream as upstream_module
import pytest
from gpt_image_mcp.testing import HTTPServerUpstream, ProviderConformance, png_bytes

KEY = "paint-key-0123456789SECRET"
upstream_module.HANG_LIMIT_SECONDS = 3


class PaintServer(HTTPServerUpstream):
    image_path = re.compile(r"^/paint$")

    def image_response(self, request, n, size):
        return self.bytes_response(png_bytes(size))

    def error_response(self, status, message):
        return self.json_response({"error": message}, status=status)

    def refusal_response(self, message):
        return self.json_response({"error": message}, status=451)


class Base(ProviderConformance):
    plugin_name = "brokenpaint"
    cancel_within = 2.0
    provider_class = brokenpaint.Good

    @pytest.fixture
    def upstream(self, httpserver):
        return PaintServer(httpserver)

    @pytest.fixture
    def provider(self, upstream, monkeypatch):
        monkeypatch.setenv("PAINT_URL", upstream.server.url_for(""))
        monkeypatch.setenv("PAINT_KEY", KEY)
        return self.provider_class()

    @pytest.fixture
    def secret(self):
        return KEY


class TestGood(Base):
    pass


class TestLeaky(Base):
    provider_class = brokenpaint.Leaky


class TestMisclassified(Base):
    provider_class = brokenpaint.Misclassified


class TestLying(Base):
    provider_class = brokenpaint.Lying


class TestUndeclared(Base):
    provider_class = brokenpaint.Undeclared


class TestUncancellable(Base):
    provider_class = brokenpaint.Uncancellable


class TestNoValidate(Base):
    provider_class = brokenpaint.NoValidate


class TestSecretlyOnline(Base):
    has_upstream = False

    @pytest.fixture
    def provider(self, httpserver, monkeypatch):
        monkeypatch.setenv("PAINT_URL", httpserver.url_for(""))
        monkeypatch.setenv("PAINT_KEY", KEY)
        return brokenpaint.SecretlyOnline()


class TestStubborn(ProviderConformance):
    has_upstream = False
    plugin_name = "brokenpaint"

    @pytest.fixture
    def provider(self):
        return brokenpaint.Stubborn()
"""

ALL_CHECKS = {
    "test_declaration",
    "test_plugin_is_discovered",
    "test_model_table_layer_validates",
    "test_default_model_is_served",
    "test_operation[generate]",
    "test_operation[edit]",
    "test_operation[variation]",
    "test_another_size_is_honoured",
    "test_has_upstream_is_true",
    "test_end_to_end_through_mcp",
    "test_authentication_failure",
    "test_server_error_is_retryable",
    "test_refusal",
    "test_cancellation",
    "test_secrets_are_not_leaked",
    "test_validate_reports_without_generating",
}
NETWORK_CHECKS = {
    "test_authentication_failure",
    "test_server_error_is_retryable",
    "test_refusal",
    "test_cancellation",
    "test_secrets_are_not_leaked",
}


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    """{class: {check: passed | failed | skipped}} from one run of the kit against every broken provider."""
    root = tmp_path_factory.mktemp("kit")
    site = root / "site"
    info = site / "brokenpaint-0.1.dist-info"
    info.mkdir(parents=True)
    (site / "brokenpaint.py").write_text(textwrap.dedent(PLUGIN))
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: brokenpaint\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[gpt_image_mcp]\nbrokenpaint = brokenpaint\n")
    (root / "test_kit.py").write_text(textwrap.dedent(TESTS))
    report = root / "report.xml"
    env = {**os.environ, "PYTHONPATH": str(site)}
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "test_kit.py", f"--junitxml={report}"]
    completed = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=300)
    assert report.exists(), completed.stdout + completed.stderr
    results: dict[str, dict[str, str]] = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        kind = next((child.tag for child in case if child.tag in {"failure", "error", "skipped"}), "passed")
        outcome = {"failure": "failed", "error": "failed"}.get(kind, kind)
        checks = results.setdefault(case.attrib["classname"].rsplit(".", 1)[-1], {})
        if checks.get(case.attrib["name"]) != "failed":  # a teardown error after a pass still fails the check
            checks[case.attrib["name"]] = outcome
    return results


def failed(outcomes: dict[str, dict[str, str]], cls: str, checks: set[str] = ALL_CHECKS) -> set[str]:
    assert set(outcomes[cls]) == checks, f"{cls} did not run exactly its checks: {sorted(outcomes[cls])}"
    return {check for check, outcome in outcomes[cls].items() if outcome == "failed"}


def test_a_correct_provider_passes_every_check(outcomes: dict[str, dict[str, str]]) -> None:
    assert outcomes["TestGood"] == dict.fromkeys(ALL_CHECKS, "passed")


@pytest.mark.parametrize(
    ("cls", "caught_by"),
    [
        ("TestLeaky", {"test_secrets_are_not_leaked"}),
        ("TestMisclassified", {"test_authentication_failure", "test_server_error_is_retryable", "test_refusal"}),
        ("TestLying", {"test_operation[generate]", "test_end_to_end_through_mcp"}),
        ("TestUndeclared", {"test_operation[edit]"}),
        ("TestUncancellable", {"test_cancellation"}),
        ("TestNoValidate", {"test_validate_reports_without_generating"}),
    ],
)
def test_each_defect_is_caught_by_its_check(outcomes: dict[str, dict[str, str]], cls: str, caught_by: set[str]) -> None:
    assert failed(outcomes, cls) == caught_by


def test_a_provider_that_claims_no_upstream_but_connects_is_caught(outcomes: dict[str, dict[str, str]]) -> None:
    # Without an upstream the network checks are not collected at all (nothing is reported as skipped).
    caught = failed(outcomes, "TestSecretlyOnline", ALL_CHECKS - NETWORK_CHECKS)
    assert {"test_has_upstream_is_true", "test_operation[generate]", "test_end_to_end_through_mcp"} <= caught


def test_a_provider_that_ignores_the_size_is_caught(outcomes: dict[str, dict[str, str]]) -> None:
    assert failed(outcomes, "TestStubborn", ALL_CHECKS - NETWORK_CHECKS) == {"test_another_size_is_honoured"}


def test_the_kit_does_not_import_pytest_into_core() -> None:
    code = "import sys, gpt_image_mcp, gpt_image_mcp.server, gpt_image_mcp.cli; print('pytest' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_core_source_never_imports_the_kit() -> None:
    package = Path(__import__("gpt_image_mcp").__file__).parent
    importers = [
        path.relative_to(package)
        for path in package.rglob("*.py")
        if "testing" not in path.parts and "gpt_image_mcp.testing" in path.read_text(encoding="utf-8")
    ]
    assert importers == []
