"""Logging: stderr only (stdout carries the stdio transport), text or JSON lines, secrets masked.

- `LOG_LEVEL` sets the level; below debug the chatty libraries are quietened.
- `LOG_FORMAT=json` writes one JSON object per line: time, level, logger, message, `request_id` when the
  record was logged while serving an HTTP request (the id is also sent back as the `X-Request-ID` header),
  and the exception text when there is one.
- Every record passes `SecretMaskingFilter` first, so configured keys and credential-shaped strings never
  reach the output. Prompts are logged only at debug level.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Literal

from gpt_image_mcp.secrets_mask import SecretMaskingFilter

FORMAT = "%(asctime)s %(levelname)s %(name)s%(request_suffix)s: %(message)s"
LogFormat = Literal["text", "json"]

#: The id of the HTTP request being served (set by the HTTP middleware; the MCP SDK carries context
#: variables from the request into the tool call, so records of the call carry it too).
request_id_var: ContextVar[str | None] = ContextVar("gpt_image_mcp_request_id", default=None)

NOISY_LOGGERS = ("httpx", "httpx2", "httpcore", "httpcore2", "mcp", "uvicorn.access", "sse_starlette")


class RequestIdFilter(logging.Filter):
    """Adds `request_id` (None outside a request) and `request_suffix` (for the text format) to each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        request_id = request_id_var.get()
        record.request_id = request_id
        record.request_suffix = f" [{request_id}]" if request_id else ""
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line; keys: time, level, logger, message, request_id?, exception?, stack?"""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id:
            entry["request_id"] = request_id
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False, default=str)


def make_handler(log_format: LogFormat = "text") -> logging.Handler:
    """A stderr handler with the masking and request-id filters and the chosen formatter."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(SecretMaskingFilter())
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(FORMAT))
    return handler


def configure_logging(level: str, log_format: str | None = None) -> None:
    """Send every record to stderr at `level`; quiet the chatty libraries unless debugging.

    `log_format` is "text" or "json"; None reads `LOG_FORMAT` from the environment (default text).
    """
    chosen = (log_format or os.environ.get("LOG_FORMAT") or "text").strip().lower()
    handler = make_handler("json" if chosen == "json" else "text")
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level.upper())
    quiet = level.lower() != "debug"
    for noisy in NOISY_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.WARNING if quiet else logging.NOTSET)
