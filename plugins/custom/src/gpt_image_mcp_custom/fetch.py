"""Downloading images that a server returns as URLs: opt-in, http(s) only, allowed hosts only, streamed with a
size cap and a total time limit. Redirects are followed by hand so every hop is checked too."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

import anyio

if TYPE_CHECKING:
    import httpx2

MAX_REDIRECTS = 3
_DATA_URL = re.compile(r"^data:[\w.+-]+/[\w.+-]+;base64,(?P<data>.*)$", re.IGNORECASE | re.DOTALL)


class FetchRefused(Exception):
    """The URL may not be fetched, or the download failed; the message says why and what to set."""


@dataclass(frozen=True)
class FetchPolicy:
    """What may be downloaded: enabled at all, from which hosts, how big, how long."""

    enabled: bool
    hosts: tuple[str, ...]
    max_bytes: int
    timeout: float


def decode_data_url(url: str) -> bytes | None:
    """The bytes of a base64 `data:` URL, or None when `url` is not one."""
    match = _DATA_URL.match(url.strip())
    if not match:
        return None
    text = re.sub(r"\s+", "", match.group("data"))
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise FetchRefused("the data: URL it sent is not valid base64") from None


def host_allowed(host: str, allowed: tuple[str, ...]) -> bool:
    """Exact host names, or `*.example.com` for any subdomain of example.com."""
    host = host.lower().rstrip(".")
    for entry in allowed:
        entry = entry.lower().rstrip(".")
        if host == entry or (entry.startswith("*.") and host.endswith(entry[1:])):
            return True
    return False


def check_url(url: str, policy: FetchPolicy) -> None:
    """Refuse anything but http(s) URLs on an allowed host."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise FetchRefused(f"only http and https image URLs are downloaded, not {parts.scheme or 'this'}: URLs")
    host = parts.hostname or ""
    if not host_allowed(host, policy.hosts):
        allowed = ", ".join(policy.hosts) or "none"
        raise FetchRefused(
            f"host {host or '(none)'} is not allowed to serve images (allowed: {allowed}); add it to "
            "CUSTOM_OPENAI_FETCH_HOSTS if you trust it"
        )


async def fetch_image(url: str, policy: FetchPolicy) -> bytes:
    """Download one image within the policy's limits; `FetchRefused` for every failure."""
    import httpx2

    check_url(url, policy)
    try:
        with anyio.fail_after(policy.timeout):
            async with httpx2.AsyncClient(follow_redirects=False, timeout=policy.timeout) as client:
                for _hop in range(MAX_REDIRECTS + 1):
                    async with client.stream("GET", url) as response:
                        if response.is_redirect and "location" in response.headers:
                            url = urljoin(url, response.headers["location"])
                            check_url(url, policy)
                            continue
                        if response.status_code != 200:
                            raise FetchRefused(f"downloading the image failed with HTTP {response.status_code}")
                        return await _read_capped(response, policy.max_bytes)
                raise FetchRefused(f"the image URL redirected more than {MAX_REDIRECTS} times")
    except TimeoutError:
        raise FetchRefused(
            f"downloading the image did not finish within {policy.timeout:g} s (CUSTOM_OPENAI_FETCH_TIMEOUT)"
        ) from None
    except httpx2.HTTPError as exc:
        raise FetchRefused(f"downloading the image failed: {type(exc).__name__}: {exc}") from None


async def _read_capped(response: httpx2.Response, max_bytes: int) -> bytes:
    declared = response.headers.get("content-length")
    too_big = f"the image is larger than {max_bytes:,} bytes (CUSTOM_OPENAI_FETCH_MAX_BYTES); the download was stopped"
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise FetchRefused(too_big)
    chunks: list[bytes] = []
    received = 0
    async for chunk in response.aiter_bytes():
        received += len(chunk)
        if received > max_bytes:
            raise FetchRefused(too_big)
        chunks.append(chunk)
    return b"".join(chunks)
