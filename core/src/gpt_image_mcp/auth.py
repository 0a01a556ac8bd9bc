"""Static bearer keys for the HTTP transport: `MCP_API_KEY` on /mcp, `METRICS_API_KEY` on /metrics.

Why our own check (applied by the ASGI middleware in `gpt_image_mcp.http`) instead of the SDK's
`MCPServer(token_verifier=..., auth=AuthSettings(...))`:

- the SDK path is built for OAuth 2.1 resource servers: it needs an issuer URL and a resource server URL,
  publishes RFC 9728 metadata, and verifies scoped, expiring `AccessToken`s. A shared static key needs none of
  that, and advertising OAuth metadata for a server that has no authorization server would send clients on
  a discovery that cannot succeed;
- it is wired when `MCPServer` is constructed (in server.py), while the key is a transport concern: stdio
  needs none;
- /metrics needs a different key and /health/* must stay open for probes; one middleware decides all three.

Comparison is constant-time and length-independent: both the presented token and the key go through
HMAC-SHA256 under a random per-process key, and the digests are compared with `hmac.compare_digest`.
Header parsing follows RFC 7235/6750: the scheme is case-insensitive, one or more spaces may separate it
from the token, and the token is a single word (`Bearer a b` and `Basic ...` are rejected).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from pydantic import SecretStr

_PROCESS_KEY = secrets.token_bytes(32)
REALM = "gpt-image-mcp"


def _digest(value: bytes) -> bytes:
    return hmac.new(_PROCESS_KEY, value, hashlib.sha256).digest()


class BearerKey:
    """One accepted key. The key itself is not kept, only its keyed digest."""

    def __init__(self, key: str | SecretStr) -> None:
        text = key.get_secret_value() if isinstance(key, SecretStr) else key
        if not text:
            raise ValueError("a bearer key cannot be empty")
        self._digest = _digest(text.encode("utf-8"))

    def matches(self, token: bytes | None) -> bool:
        """True when `token` (the raw bytes after `Bearer `) is the key; constant time for any length."""
        if token is None:
            return False
        return hmac.compare_digest(_digest(token), self._digest)

    @classmethod
    def optional(cls, key: SecretStr | str | None) -> BearerKey | None:
        if key is None:
            return None
        text = key.get_secret_value() if isinstance(key, SecretStr) else key
        return cls(text) if text else None


def bearer_token(authorization: bytes | None) -> bytes | None:
    """The token of an `Authorization: Bearer <token>` header value, or None (absent, other scheme, malformed)."""
    if not authorization:
        return None
    parts = authorization.strip().split()
    if len(parts) != 2 or parts[0].lower() != b"bearer":
        return None
    return parts[1]


def token_fingerprint(token: bytes) -> str:
    """A short, non-reversible identifier of a token (rate-limit buckets, logs)."""
    return hashlib.sha256(token).hexdigest()[:24]


def challenge(token_presented: bool) -> str:
    """The `WWW-Authenticate` value of a 401 (RFC 6750 section 3)."""
    if token_presented:
        return f'Bearer realm="{REALM}", error="invalid_token"'
    return f'Bearer realm="{REALM}"'
