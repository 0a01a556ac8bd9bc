"""Per-client rate limit on MCP tool calls, with the `limits` library (moving window).

- What counts: each JSON-RPC request with method `tools/call` in a POST body (a batch counts each of its
  calls). initialize, tools/list, notifications, responses and GET/DELETE requests are not counted, nor the
  follow-up rounds of a call that asked the user something (`FollowUpRounds`).
- Who is a client: with `MCP_API_KEY` set, the (verified) bearer token, by its hash; otherwise the peer
  address. Unverified tokens are never used, or a caller could rotate made-up tokens to dodge the limit.
  `X-Forwarded-For` is believed only when the direct peer is one of `TRUSTED_PROXIES`; the client is then
  the right-most address of the chain that is not itself a trusted proxy.
- Where counters live: `RATE_LIMIT_STORAGE_URI`, memory:// by default (one process), redis://... to share
  them between replicas (needs `pip install 'limits[async-redis]'`).
- If the storage fails (e.g. Redis down), the call is let through and the failure logged: the limit protects
  the upstream budget, and refusing every call during a storage outage would be worse.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import logging
import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from gpt_image_mcp.errors import ConfigurationError

logger = logging.getLogger(__name__)

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
TOOLS_CALL = "tools/call"
INITIALIZE = "initialize"
NAMESPACE = "gpt-image-mcp"
#: JSON-RPC error code of a rate-limited request (implementation-defined server error range).
RATE_LIMITED_CODE = -32029


@dataclass(frozen=True)
class ToolCalls:
    """What one request body holds: how many tool calls, the ids of all its requests, whether it is a batch,
    and the `requestState` each follow-up round of a call carries (2026-07-28 protocol)."""

    count: int
    request_ids: tuple[Any, ...] = ()
    batch: bool = False
    states: tuple[str, ...] = ()
    #: `initialize` requests: each opens a session.
    sessions: int = 0


def count_tool_calls(body: bytes) -> ToolCalls:
    """Count `tools/call` requests in a JSON-RPC body (single message or batch); unparsable: none."""
    if not body:
        return ToolCalls(0)
    try:
        message = json.loads(body)
    except (ValueError, RecursionError):  # not JSON, not UTF-8, nested too deep: the SDK answers it
        return ToolCalls(0)
    messages = message if isinstance(message, list) else [message]
    requests = [item for item in messages if isinstance(item, dict) and isinstance(item.get("method"), str)]
    calls = [item for item in requests if item["method"] == TOOLS_CALL]
    ids = tuple(item["id"] for item in requests if "id" in item)
    states = tuple(
        state
        for item in calls
        if isinstance(params := item.get("params"), dict) and isinstance(state := params.get("requestState"), str)
    )
    sessions = sum(1 for item in requests if item["method"] == INITIALIZE)
    return ToolCalls(len(calls), ids, isinstance(message, list), states, sessions)


class FollowUpRounds:
    """Which `tools/call` requests are follow-up rounds of a call already counted, so that a call is charged once.

    In the 2026-07-28 protocol a call that asks the user something (elicitation, sampling) answers with the
    question and a `requestState` the SDK seals; the client then sends the call again with the answers and that
    state. The first round was charged; a state seen for the first time is free, a replayed one is charged. A
    forged state is refused by the SDK before the tool runs, so it costs nothing upstream. States are remembered
    for `ttl` seconds (the SDK's state lifetime), at most `max_per_client` of one client (so that a client sending
    made-up states fills only its own share) and `max_entries` in all; beyond that, rounds are charged again.
    """

    def __init__(self, ttl: float = 600.0, max_entries: int = 10_000, max_per_client: int = 100) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self.max_per_client = max_per_client
        #: (client, digest of a state) -> when it may be forgotten, in insertion order
        self._seen: dict[tuple[str, str], float] = {}
        self._per_client: dict[str, int] = {}

    def free_rounds(self, client: str, states: Iterable[str]) -> int:
        """How many of `states` (sent by `client`) are first sightings, remembered from now on."""
        now = time.monotonic()
        while self._seen:
            (owner, digest), expires = next(iter(self._seen.items()))  # the oldest first
            if expires > now:
                break
            del self._seen[(owner, digest)]
            self._per_client[owner] -= 1
            if not self._per_client[owner]:
                del self._per_client[owner]
        free = 0
        for state in states:
            key = (client, hashlib.sha256(state.encode()).hexdigest())
            full = len(self._seen) >= self.max_entries or self._per_client.get(client, 0) >= self.max_per_client
            if key in self._seen or full:
                continue
            self._seen[key] = now + self.ttl
            self._per_client[client] = self._per_client.get(client, 0) + 1
            free += 1
        return free


def parse_networks(entries: Iterable[str]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries if entry.strip())


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address | None, proxies: Sequence[IPNetwork]) -> bool:
    return address is not None and any(address in network for network in proxies)


def client_address(peer: str | None, forwarded_for: Sequence[str], proxies: Sequence[IPNetwork]) -> str:
    """The client's address: the peer, or (behind trusted proxies) the right-most untrusted X-Forwarded-For hop."""
    peer_address = _address(peer) if peer else None
    if not forwarded_for or not _trusted(peer_address, proxies):
        return str(peer_address) if peer_address else (peer or "unknown")
    hops = [hop.strip() for header in forwarded_for for hop in header.split(",") if hop.strip()]
    client = peer_address
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:  # garbage in the chain: stop at the last hop we could trust
            break
        client = address
        if not _trusted(address, proxies):
            break
    return str(client) if client else "unknown"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: int = 0
    remaining: int = 0


class ToolCallRateLimiter:
    """`limit` tool calls (or other requests, `what`) per `window_seconds` per client, in a moving window."""

    def __init__(
        self,
        limit: int,
        window_seconds: int,
        storage_uri: str = "memory://",
        *,
        what: str = "tool calls",
        namespace: str = NAMESPACE,
    ) -> None:
        from limits import RateLimitItemPerSecond
        from limits.aio.strategies import MovingWindowRateLimiter
        from limits.errors import ConfigurationError as LimitsConfigurationError
        from limits.storage import storage_from_string

        self.limit = limit
        self.window_seconds = window_seconds
        self.what = what
        self.item = RateLimitItemPerSecond(limit, window_seconds, namespace=namespace)
        uri = storage_uri.strip() or "memory://"
        if not uri.startswith("async+"):
            uri = f"async+{uri}"
        try:
            storage = _throttled_memory_storage() if uri == "async+memory://" else storage_from_string(uri)
        except LimitsConfigurationError as exc:
            # The URI may hold a password: name its scheme only.
            scheme = uri.removeprefix("async+").split("://", 1)[0]
            raise ConfigurationError(
                f"RATE_LIMIT_STORAGE_URI: storage {scheme!r} cannot be used ({type(exc).__name__}); use memory:// "
                "or redis://host:6379 (pip install 'limits[async-redis]')"
            ) from exc
        self.storage = storage
        self.strategy = MovingWindowRateLimiter(storage)

    async def acquire(self, client: str, cost: int = 1) -> Decision:
        """Count `cost` calls for `client`; refused (nothing counted) when that would exceed the limit."""
        try:
            if await self.strategy.hit(self.item, client, cost=cost):
                stats = await self.strategy.get_window_stats(self.item, client)
                return Decision(True, 0, max(0, stats.remaining))
            stats = await self.strategy.get_window_stats(self.item, client)
        except Exception as exc:  # storage outage: fail open (see the module docstring)
            logger.error("Rate-limit storage failed, letting the call through: %s", exc)
            return Decision(True, 0, 0)
        wait = stats.reset_time - time.time()
        retry_after = max(1, min(self.window_seconds, math.ceil(wait))) if cost <= self.limit else self.window_seconds
        return Decision(False, retry_after, max(0, stats.remaining))


#: How often the in-process storage drops expired entries.
SWEEP_INTERVAL_SECONDS = 1.0


def _throttled_memory_storage() -> Any:
    """limits' in-process async storage, sweeping expired entries at most once per `SWEEP_INTERVAL_SECONDS`.

    Its own sweep is scheduled after every hit, as a task that bisects each key's entries in a worker thread: a
    thread hop per tool call, about a tenth of a small call's CPU. The sweep only frees memory (the moving
    window compares timestamps itself), so running it once a second changes no decision.
    """
    from limits.aio.storage import MemoryStorage

    class ThrottledMemoryStorage(MemoryStorage):
        last_sweep = -math.inf

        # The name limits' own methods call (a name-mangled private method of MemoryStorage).
        async def _MemoryStorage__schedule_expiry(self) -> None:
            now = time.monotonic()
            if now - self.last_sweep >= SWEEP_INTERVAL_SECONDS:
                self.last_sweep = now
                await super()._MemoryStorage__schedule_expiry()  # type: ignore[misc]

    if not callable(getattr(MemoryStorage, "_MemoryStorage__schedule_expiry", None)):
        return MemoryStorage()  # another limits version: its own behaviour, unthrottled
    return ThrottledMemoryStorage()


def rate_limited_body(
    calls: ToolCalls, limit: int, window_seconds: int, retry_after: int, what: str = "tool calls"
) -> bytes:
    """A JSON-RPC error for each refused request (a list for a batch), as the body of the 429."""
    message = (
        f"Rate limit exceeded: at most {limit} {what} per {window_seconds} s per client. Retry after {retry_after} s."
    )

    def error(request_id: Any) -> dict[str, Any]:
        data = {"retry_after": retry_after, "limit": limit, "window_seconds": window_seconds}
        valid_id = isinstance(request_id, str | int) and not isinstance(request_id, bool)  # not NaN, not a list
        return {
            "jsonrpc": "2.0",
            "id": request_id if valid_id else None,
            "error": {"code": RATE_LIMITED_CODE, "message": message, "data": data},
        }

    if calls.batch:
        payload: Any = [error(request_id) for request_id in calls.request_ids] or [error(None)]
    else:
        payload = error(calls.request_ids[0] if calls.request_ids else None)
    return json.dumps(payload).encode()
