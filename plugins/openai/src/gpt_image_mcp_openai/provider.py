"""`OpenAIProvider`: the OpenAI Images API (gpt-image models) on the OpenAI-compatible base."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, ClassVar

from gpt_image_mcp.errors import ConfigurationError
from gpt_image_mcp.types import Operation

from gpt_image_mcp_openai.compat import ClientConfig, OpenAICompatibleProvider
from gpt_image_mcp_openai.retrying import RetryPolicy, Sleep

if TYPE_CHECKING:
    from gpt_image_mcp_openai.settings import OpenAISettings

KEY_HINT = "set OPENAI_API_KEY (or OPENAI_API_KEY_FILE) to an API key from https://platform.openai.com/api-keys"


class OpenAIProvider(OpenAICompatibleProvider):
    """OpenAI gpt-image models: generate and edit (variations are retired upstream)."""

    name = "openai"
    description = "OpenAI Images API (gpt-image models): generate and edit, with streaming partial images."
    operations: ClassVar[frozenset[Operation]] = frozenset({Operation.GENERATE, Operation.EDIT})
    vendors: ClassVar[frozenset[str]] = frozenset({"openai"})
    accepts_unknown_models: ClassVar[bool] = True

    def __init__(self, *, sleep: Sleep | None = None) -> None:
        super().__init__(sleep=sleep)
        self._settings: OpenAISettings | None = None
        self._problems: list[str] | None = None

    def settings(self) -> OpenAISettings | None:
        """The settings, read from the environment on first use; None when they are invalid."""
        if self._problems is None:
            from gpt_image_mcp_openai.settings import OpenAISettings, read_settings

            self._settings, self._problems = read_settings(OpenAISettings)
        return self._settings

    def has_credentials(self) -> bool:
        settings = self.settings()
        if settings is None:
            # Invalid settings still count as "the user meant OpenAI": selected, then reported.
            return bool(os.environ.get("OPENAI_API_KEY") or os.environ.get("OPENAI_API_KEY_FILE"))
        return settings.key is not None

    def configuration_problems(self) -> list[str]:
        settings = self.settings()
        problems = list(self._problems or [])
        if settings is not None and settings.key is None:
            problems.append(f"no OpenAI API key: {KEY_HINT}")
        return problems

    def client_config(self) -> ClientConfig:
        settings = self.settings()
        problems = self.configuration_problems()
        if settings is None or problems:
            raise ConfigurationError(
                "the openai provider is not configured: " + "; ".join(problems), provider=self.name
            )
        return ClientConfig(
            base_url=settings.effective_base_url,
            api_key=settings.key,
            organization=settings.organization,
            project=settings.project,
            timeout=settings.timeout,
            retry=RetryPolicy(
                max_retries=settings.max_retries,
                max_wait=settings.retry_max_wait,
                backoff_base=settings.retry_backoff_base,
            ),
            key_variable=settings.key_variable,
        )

    def validation_model(self) -> str:
        settings = self.settings()
        return settings.default_model if settings else "gpt-image-2"
