"""Entra ID tokens for Azure OpenAI: an async token provider that caches and refreshes before expiry.

`azure-identity` is imported on first use. Its synchronous credentials run in a worker thread, so no async
HTTP stack (aiohttp) is needed; the token is cached here and fetched again `margin` seconds before it
expires (or at the refresh time the credential suggests).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio
from gpt_image_mcp.errors import AuthenticationError, ConfigurationError, ImageMCPError

from gpt_image_mcp_azure.settings import ENTRA_SCOPE, CredentialKind

logger = logging.getLogger("gpt_image_mcp_azure")

#: Refresh a token this many seconds before it expires (MSAL treats tokens this close to expiry as expired).
REFRESH_MARGIN = 300.0

HOW_TO_FIX = (
    "To fix it, either set AZURE_OPENAI_API_KEY (or AZURE_OPENAI_API_KEY_FILE) to use key authentication; or run "
    "on Azure with a managed identity (App Service, Functions, Container Apps, AKS workload identity, a VM) that "
    "has the role 'Cognitive Services OpenAI User' on the resource, setting AZURE_CLIENT_ID for a user-assigned "
    "identity; or, on a workstation, sign in with `az login` (or set AZURE_TENANT_ID, AZURE_CLIENT_ID and "
    "AZURE_CLIENT_SECRET for a service principal)."
)


@dataclass(frozen=True)
class Token:
    """A bearer token and when it expires (and, if the credential says so, when to refresh it)."""

    value: str
    expires_on: float
    refresh_on: float | None = None

    def needs_refresh(self, now: float, margin: float) -> bool:
        if self.refresh_on is not None and now >= self.refresh_on:
            return True
        return now >= self.expires_on - margin


def create_credential(kind: CredentialKind, client_id: str | None) -> Any:
    """The azure-identity credential for the settings (imported here, on first use)."""
    from azure.identity import DefaultAzureCredential, ManagedIdentityCredential

    if kind == "managed_identity":
        return ManagedIdentityCredential(client_id=client_id) if client_id else ManagedIdentityCredential()
    if client_id:
        return DefaultAzureCredential(managed_identity_client_id=client_id)
    return DefaultAzureCredential()


def credential_label(kind: CredentialKind, client_id: str | None) -> str:
    name = "ManagedIdentityCredential" if kind == "managed_identity" else "DefaultAzureCredential"
    return f"{name} (user-assigned identity {client_id})" if client_id else name


class EntraTokenProvider:
    """Async callable returning a bearer token for Azure OpenAI; hand it to the `openai` client.

    One token is cached and shared by concurrent calls; it is fetched again before it expires.
    """

    def __init__(
        self,
        credential_factory: Callable[[], Any],
        *,
        label: str,
        scope: str = ENTRA_SCOPE,
        margin: float = REFRESH_MARGIN,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._factory = credential_factory
        self._credential: Any = None
        self._token: Token | None = None
        self._lock: anyio.Lock | None = None
        self.label = label
        self.scope = scope
        self.margin = margin
        self.clock = clock
        #: How many tokens were fetched from the credential (tests and logs).
        self.fetches = 0

    async def __call__(self) -> str:
        return (await self.token()).value

    async def token(self) -> Token:
        """The cached token, or a new one when it is missing or about to expire."""
        if self._lock is None:
            self._lock = anyio.Lock()
        async with self._lock:
            if self._token is None or self._token.needs_refresh(self.clock(), self.margin):
                self._token = await anyio.to_thread.run_sync(self._fetch)
            return self._token

    def source(self) -> str:
        """Which credential produced the token, as far as azure-identity says."""
        chosen = getattr(self._credential, "_successful_credential", None)
        return type(chosen).__name__ if chosen is not None else type(self._credential).__name__

    def _fetch(self) -> Token:
        from azure.core.exceptions import ClientAuthenticationError

        try:
            if self._credential is None:
                self._credential = self._factory()
            if hasattr(self._credential, "get_token_info"):
                info = self._credential.get_token_info(self.scope)
                refresh_on = getattr(info, "refresh_on", None)
            else:
                info = self._credential.get_token(self.scope)
                refresh_on = None
        except ClientAuthenticationError as exc:
            if is_unavailable(exc):
                raise ConfigurationError(
                    f"no Entra ID credential is available for Azure OpenAI ({self.label}). "
                    f"Tried: {tried_credentials(str(exc))}. {HOW_TO_FIX}",
                    provider="azure",
                ) from None
            raise AuthenticationError(
                f"Entra ID refused a token for Azure OpenAI ({self.label}): {summarise(str(exc))}. {HOW_TO_FIX}",
                provider="azure",
            ) from None
        except ImageMCPError:
            raise
        except ValueError as exc:  # e.g. workload identity selected without a client id
            raise ConfigurationError(f"the Entra ID credential is misconfigured: {exc}", provider="azure") from None
        self.fetches += 1
        logger.info("Fetched an Entra ID token for Azure OpenAI via %s", self.source())
        return Token(value=info.token, expires_on=float(info.expires_on), refresh_on=refresh_on)

    def close(self) -> None:
        credential, self._credential, self._token = self._credential, None, None
        close = getattr(credential, "close", None)
        if callable(close):
            close()


def tried_credentials(message: str) -> str:
    """'EnvironmentCredential: ...; ManagedIdentityCredential: ...' from azure-identity's chained message."""
    attempts = [line.strip() for line in message.splitlines() if re.match(r"^\s*[A-Za-z]+Credential:", line)]
    if not attempts:
        return summarise(message)
    return "; ".join(summarise(attempt) for attempt in attempts)


def summarise(text: str, *, sentences: int = 2, limit: int = 400) -> str:
    """The first sentences of an azure-identity message, without troubleshooting links, on one line."""
    parts = [part for part in re.split(r"(?<=\.)\s+", " ".join(text.split())) if "http" not in part]
    text = " ".join(parts[:sentences]).rstrip(" .")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def is_unavailable(exc: BaseException) -> bool:
    """True when no credential of the chain could even try (as opposed to one that tried and was refused)."""
    from azure.identity import CredentialUnavailableError

    return isinstance(exc, CredentialUnavailableError) or "Attempted credentials:" in str(exc)
