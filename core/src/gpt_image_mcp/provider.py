"""The provider contract: subclass `ImageProvider` and register an instance from `register_providers`."""

from __future__ import annotations

from typing import ClassVar

from gpt_image_mcp.capabilities import ModelCapabilities
from gpt_image_mcp.errors import UnsupportedOperationError
from gpt_image_mcp.progress import Progress
from gpt_image_mcp.types import (
    CheckResult,
    EditRequest,
    GenerateRequest,
    ImageResult,
    Operation,
    ValidationReport,
    VariationRequest,
)


class ImageProvider:
    """Base class for providers. Override the operations you declare in `operations`.

    Instances are created when the registry is built and must be cheap to create: read configuration
    and import SDKs lazily, on first use. Requests arrive already validated against the model's
    capabilities; a provider maps upstream failures onto `gpt_image_mcp.errors`.
    """

    #: Unique name users select with `PROVIDER` or the tools' `provider` argument.
    name: ClassVar[str]
    #: One line for `provider_list`.
    description: ClassVar[str] = ""
    #: Operations this provider implements.
    operations: ClassVar[frozenset[Operation]] = frozenset({Operation.GENERATE})
    #: Which capability-table entries (by their `vendor`) this provider serves.
    vendors: ClassVar[frozenset[str]] = frozenset({"openai"})
    #: Accept model names missing from the table, with generic checks only (new upstream models).
    accepts_unknown_models: ClassVar[bool] = False

    def has_credentials(self) -> bool:
        """True when the user configured this provider (API key, endpoint...), so that it is selected
        automatically when PROVIDER is unset. Providers that need no configuration return False."""
        return False

    def is_configured(self) -> bool:
        """True when the configuration is complete enough to serve calls."""
        return not self.configuration_problems()

    def configuration_problems(self) -> list[str]:
        """What is missing or wrong in this provider's configuration, one actionable line each."""
        return []

    def default_model(self) -> str | None:
        """The model used when the caller names none (None: the server's DEFAULT_MODEL)."""
        return None

    def model_table_layer(self) -> dict[str, dict[str, object]]:
        """Capability-table entries this provider contributes, in the TOML table's shape."""
        return {}

    def serves(self, model: ModelCapabilities) -> bool:
        """Whether this provider serves a model of the table."""
        return model.vendor in self.vendors

    def adapt_capabilities(self, model: ModelCapabilities) -> ModelCapabilities:
        """Adjust a model's capabilities to what this provider really offers (default: unchanged)."""
        return model

    async def generate(self, request: GenerateRequest, progress: Progress) -> ImageResult:
        raise UnsupportedOperationError(f"provider {self.name} cannot generate images", provider=self.name)

    async def edit(self, request: EditRequest, progress: Progress) -> ImageResult:
        raise UnsupportedOperationError(f"provider {self.name} cannot edit images", provider=self.name)

    async def variation(self, request: VariationRequest, progress: Progress) -> ImageResult:
        raise UnsupportedOperationError(f"provider {self.name} cannot make variations", provider=self.name)

    async def validate(self) -> ValidationReport:
        """Check configuration, credentials and reachability without generating anything.

        The default only checks configuration; providers with an upstream add one cheap call.
        """
        problems = self.configuration_problems()
        check = CheckResult(name="configuration", ok=not problems, detail="; ".join(problems) or "complete")
        return ValidationReport(provider=self.name, ok=check.ok, checks=[check])

    async def aclose(self) -> None:
        """Release clients and connections; called when the server stops."""
