"""The token provider's cache rules with a stand-in credential and clock: reuse, margin, refresh_on, errors."""

from __future__ import annotations

from types import SimpleNamespace

import anyio
import pytest
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import CredentialUnavailableError
from gpt_image_mcp.errors import AuthenticationError, ConfigurationError
from gpt_image_mcp_azure import ENTRA_SCOPE, EntraTokenProvider

pytestmark = pytest.mark.anyio


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


class Credential:
    """Issues token-1, token-2... each valid for `lifetime` seconds, optionally with a refresh_on."""

    def __init__(self, clock: Clock, lifetime: float = 3600, refresh_after: float | None = None) -> None:
        self.clock = clock
        self.lifetime = lifetime
        self.refresh_after = refresh_after
        self.scopes: list[str] = []
        self.error: Exception | None = None

    def get_token_info(self, *scopes: str) -> SimpleNamespace:
        if self.error is not None:
            raise self.error
        self.scopes.extend(scopes)
        refresh_on = self.clock() + self.refresh_after if self.refresh_after is not None else None
        return SimpleNamespace(
            token=f"token-{len(self.scopes)}", expires_on=int(self.clock() + self.lifetime), refresh_on=refresh_on
        )


def make(credential: Credential, clock: Clock) -> EntraTokenProvider:
    return EntraTokenProvider(lambda: credential, label="test credential", clock=clock)


async def test_token_is_reused_until_the_margin_then_refreshed() -> None:
    clock = Clock()
    credential = Credential(clock, lifetime=3600)
    provider = make(credential, clock)

    assert await provider() == "token-1"
    clock.now += 3600 - 301  # just outside the 5-minute margin
    assert await provider() == "token-1"
    clock.now += 2  # inside it
    assert await provider() == "token-2"
    assert credential.scopes == [ENTRA_SCOPE, ENTRA_SCOPE]
    assert provider.fetches == 2


async def test_refresh_on_from_the_credential_is_honoured() -> None:
    clock = Clock()
    credential = Credential(clock, lifetime=86400, refresh_after=600)
    provider = make(credential, clock)

    assert await provider() == "token-1"
    clock.now += 601
    assert await provider() == "token-2"


async def test_concurrent_callers_share_one_fetch() -> None:
    clock = Clock()
    credential = Credential(clock)
    provider = make(credential, clock)
    tokens: list[str] = []

    async def call() -> None:
        tokens.append(await provider())

    async with anyio.create_task_group() as group:
        for _ in range(5):
            group.start_soon(call)

    assert tokens == ["token-1"] * 5
    assert provider.fetches == 1


async def test_unavailable_is_a_configuration_error_and_refusal_an_authentication_error() -> None:
    clock = Clock()
    credential = Credential(clock)
    provider = make(credential, clock)

    credential.error = CredentialUnavailableError(message="ManagedIdentityCredential authentication unavailable.")
    with pytest.raises(ConfigurationError, match="no Entra ID credential is available"):
        await provider()

    credential.error = ClientAuthenticationError(message="AADSTS700016: Application not found in the directory.")
    with pytest.raises(AuthenticationError, match=r"Entra ID refused a token .* AADSTS700016"):
        await provider()
