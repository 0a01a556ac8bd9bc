"""Keeping secrets out of logs and out of error texts sent to clients.

Two layers, applied together by `mask_secrets`:

1. Known values: every secret the process was configured with. They are collected when masking happens (so a
   key set after start-up is still covered): `SecretStr` fields of the settings registered with
   `register_settings_secrets`, values passed to `register_secret` (plugins that obtain a secret elsewhere,
   e.g. a token read from a file), and every environment variable whose name ends in `_KEY`, `_TOKEN`,
   `_SECRET` or `_PASSWORD` (plus a few well-known names). Values shorter than `MIN_SECRET_LENGTH` are
   ignored: masking "true" or "1" everywhere would destroy the text and protect nothing.
2. Shapes: things that look like credentials even when we were never told about them: OpenAI-style
   `sk-...` keys, `Bearer ...` tokens, JWTs, AWS access key ids, passwords inside URLs and values of
   `api-key: ...`, `token=...`, `"password": "..."` and similar pairs.

`SecretMaskingFilter` applies this to every log record (message with its arguments, exception text and stack);
`gpt_image_mcp.logs.configure_logging` installs it on the root handler.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from pydantic import SecretStr

if TYPE_CHECKING:
    from pydantic import BaseModel

MASK = "***"
MIN_SECRET_LENGTH = 6
SECRET_ENV_SUFFIXES = ("_KEY", "_TOKEN", "_SECRET", "_PASSWORD")
SECRET_ENV_NAMES = frozenset({"IDENTITY_HEADER", "MSI_SECRET", "RATE_LIMIT_STORAGE_URI"})

_KEY_NAMES = (
    r"api[-_ ]?key|x-api-key|access[-_]?key|secret[-_]?key|client[-_]?secret|access[-_]?token|refresh[-_]?token"
    r"|id[-_]?token|auth[-_]?token|token|secret|password|passwd|pwd"
)
# (pattern, replacement): applied in order, after the known values.
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Authorization header values: Bearer / Basic credentials.
    (re.compile(r"\b([Bb]earer|BEARER|Basic|BASIC)(\s+)[A-Za-z0-9\-._~+/]{8,}=*"), rf"\1\2{MASK}"),
    # OpenAI-style keys: sk-..., sk-proj-..., sk-svcacct-...
    (re.compile(r"\bsk-[A-Za-z0-9_\-]{8,}"), f"sk-{MASK}"),
    # JSON Web Tokens (Entra ID access tokens and the like).
    (re.compile(r"\beyJ[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]*"), MASK),
    # AWS access key ids.
    (re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), MASK),
    # Passwords in URLs: scheme://user:password@host
    (re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://[^\s/:@]*:)[^\s@/]+@"), rf"\1{MASK}@"),
    # key: value, key=value, "key": "value" (also api-key header lines and query strings), for values of at least
    # six characters like every secret ("API key: set OPENAI_API_KEY" keeps its advice); not a file name
    # followed by an error ("cannot create /etc/passwd: File exists").
    (
        re.compile(
            rf"(?i)(?<![A-Za-z0-9_/\\])({_KEY_NAMES})(?![A-Za-z0-9_])(\"?'?\s*[:=]\s*\"?'?)([^\s\"',;&)}}\]]{{6,}})"
        ),
        rf"\1\2{MASK}",
    ),
)

_lock = threading.Lock()
_registered: set[str] = set()


def register_secret(*values: str | SecretStr | None) -> None:
    """Add values to mask everywhere from now on (e.g. a token a plugin fetched or read from a file)."""
    with _lock:
        for value in values:
            text = value.get_secret_value() if isinstance(value, SecretStr) else value
            if text and len(text.strip()) >= MIN_SECRET_LENGTH:
                _registered.add(text.strip())
                _registered.update(_url_password(text.strip()))


def register_settings_secrets(settings: BaseModel) -> None:
    """Register every `SecretStr` field of a settings object (core or plugin settings)."""
    register_secret(*(value for value in vars(settings).values() if isinstance(value, SecretStr)))


def clear_registered_secrets() -> None:
    """Forget values given to `register_secret` (tests)."""
    with _lock:
        _registered.clear()


def environment_secrets(environ: Mapping[str, str] | None = None) -> set[str]:
    """Values of environment variables whose names say they hold a secret."""
    env = os.environ if environ is None else environ
    found: set[str] = set()
    for name, value in env.items():
        upper = name.upper()
        named_secret = upper.endswith(SECRET_ENV_SUFFIXES) or upper in SECRET_ENV_NAMES
        if named_secret and len(value.strip()) >= MIN_SECRET_LENGTH:
            password = _url_password(value.strip())
            if upper == "RATE_LIMIT_STORAGE_URI":
                found.update(password)  # the URI itself is not secret, its password is
            else:
                found.add(value.strip())
                found.update(password)
    return found


def known_secrets() -> frozenset[str]:
    """Every secret value currently known: registered ones and those in the environment."""
    with _lock:
        registered = set(_registered)
    return frozenset(registered | environment_secrets())


def mask_secrets(text: str, secrets: Iterable[str] | None = None) -> str:
    """`text` with every known secret value and every credential-shaped substring replaced by `***`.

    Use it on any text that leaves the process: error messages sent to clients, log lines.
    """
    if not text:
        return text
    values = frozenset(secrets) if secrets is not None else known_secrets()
    if values:
        text = _values_pattern(values).sub(MASK, text)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


@lru_cache(maxsize=32)
def _values_pattern(values: frozenset[str]) -> re.Pattern[str]:
    # Longest first, so a secret that contains another is masked whole.
    ordered = sorted(values, key=len, reverse=True)
    return re.compile("|".join(re.escape(value) for value in ordered))


def _url_password(value: str) -> set[str]:
    if "://" not in value or "@" not in value:
        return set()
    try:
        password = urlsplit(value).password
    except ValueError:
        return set()
    if password and len(password) >= MIN_SECRET_LENGTH:
        return {password, unquote(password)}
    return set()


class SecretMaskingFilter(logging.Filter):
    """Masks secrets in each record: the formatted message (arguments included), exception text and stack.

    The record is rewritten in place (message formatted once, arguments dropped), so every handler that sees
    it afterwards gets the masked version.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: let logging report it as usual
            return True
        secrets = known_secrets()
        record.msg = mask_secrets(message, secrets)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = _EXCEPTION_FORMATTER.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_secrets(record.exc_text, secrets)
        if record.stack_info:
            record.stack_info = mask_secrets(record.stack_info, secrets)
        return True


_EXCEPTION_FORMATTER = logging.Formatter()
