"""Secret masking: known values and credential shapes, in log records (text and JSON) and error texts."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from gpt_image_mcp.logs import configure_logging, make_handler, request_id_var
from gpt_image_mcp.secrets_mask import (
    MASK,
    SecretMaskingFilter,
    clear_registered_secrets,
    environment_secrets,
    mask_secrets,
    register_secret,
    register_settings_secrets,
)
from gpt_image_mcp.settings import load_settings

KEY = "zq-Hq83jd92kLmP0qv7"


@pytest.fixture(autouse=True)
def forget_registered() -> Iterator[None]:
    clear_registered_secrets()
    yield
    clear_registered_secrets()


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger whose records go through the production handler (masking filter + formatter) into a buffer."""
    stream = io.StringIO()
    handler = make_handler("text")
    handler.setStream(stream)  # type: ignore[attr-defined]
    logger = logging.getLogger("tests.secrets")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)
    logger.propagate = True


@pytest.mark.parametrize("suffix", ["_KEY", "_TOKEN", "_SECRET", "_PASSWORD", "_api_key"])
def test_environment_variables_named_like_secrets_are_masked(monkeypatch: pytest.MonkeyPatch, suffix: str) -> None:
    monkeypatch.setenv(f"SOME_VENDOR{suffix}", KEY)
    assert KEY in environment_secrets()
    assert mask_secrets(f"upstream said: key {KEY} is invalid") == f"upstream said: key {MASK} is invalid"


def test_other_environment_variables_and_short_values_are_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOME_SETTING", "visible-value-123")
    monkeypatch.setenv("FLAG_KEY", "true")
    assert mask_secrets("visible-value-123 and true") == "visible-value-123 and true"


def test_settings_secrets_including_a_key_read_from_a_file(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    key_file = tmp_path / "key"
    key_file.write_text(f"{KEY}\n")
    monkeypatch.setenv("MCP_API_KEY_FILE", str(key_file))
    settings = load_settings()
    assert settings.mcp_api_key is not None and settings.mcp_api_key.get_secret_value() == KEY
    assert KEY not in environment_secrets()  # only the file name is in the environment
    assert mask_secrets(KEY) == KEY
    register_settings_secrets(settings)
    assert mask_secrets(f"got {KEY}!") == f"got {MASK}!"


def test_password_inside_the_rate_limit_storage_uri(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RATE_LIMIT_STORAGE_URI", "redis://:pa55word-xyz@redis.internal:6379/0")
    assert "pa55word-xyz" in environment_secrets()
    assert mask_secrets("connecting with pa55word-xyz") == f"connecting with {MASK}"


def test_registered_secret_and_longest_match_first() -> None:
    register_secret("abcdef-123456", "abcdef-123456-and-more")
    assert mask_secrets("x abcdef-123456-and-more y abcdef-123456 z") == f"x {MASK} y {MASK} z"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Incorrect API key provided: sk-proj-AbCdEf123456789", f"Incorrect API key provided: sk-{MASK}"),
        ("Authorization: Bearer eyJhbGciOi.abcdefgh.sig-123", f"Authorization: Bearer {MASK}"),
        ("header api-key: 0123456789abcdef0123", f"header api-key: {MASK}"),
        ('{"api_key": "abc123xyz789", "n": 1}', f'{{"api_key": "{MASK}", "n": 1}}'),
        ("GET /v1?api-key=abc123xyz789&x=1", f"GET /v1?api-key={MASK}&x=1"),
        ("client_secret=s3cr3tvalue", f"client_secret={MASK}"),
        ("password: hunter2hunter2", f"password: {MASK}"),
        ("redis://user:hunter2hunter2@host:6379", f"redis://user:{MASK}@host:6379"),
        ("token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl end", f"token {MASK} end"),
        ("aws AKIAIOSFODNN7EXAMPLE id", f"aws {MASK} id"),
    ],
)
def test_credential_shapes_are_masked(text: str, expected: str) -> None:
    assert mask_secrets(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "input_tokens: 120, output tokens=30, total_tokens 150",
        "Bearer auth is required",  # the word, not a token
        "the sha256 is 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "size 1024x1024, quality high, a secret garden at dusk",
        "cannot create output folder /etc/passwd: File exists",
        "no OpenAI API key: set OPENAI_API_KEY (or OPENAI_API_KEY_FILE)",  # advice, not a value
        r"cannot read C:\\keys\\token: Permission denied",
    ],
)
def test_ordinary_text_is_not_masked(text: str) -> None:
    assert mask_secrets(text) == text


def test_log_filter_masks_message_args_and_exception(
    monkeypatch: pytest.MonkeyPatch, captured: tuple[logging.Logger, io.StringIO]
) -> None:
    monkeypatch.setenv("VENDOR_API_KEY", KEY)
    logger, stream = captured
    logger.info("calling with key %s and %r", KEY, {"api-key": KEY})
    logger.info("dict args: %(key)s", {"key": KEY})
    try:
        raise RuntimeError(f"upstream rejected {KEY}")
    except RuntimeError:
        logger.exception("failed for %s", KEY)
    logger.warning("stack", stack_info=True, extra={"unused": KEY})
    output = stream.getvalue()
    assert KEY not in output
    assert output.count(MASK) >= 5
    assert "RuntimeError: upstream rejected ***" in output


def test_masking_applies_to_records_seen_by_later_handlers(
    monkeypatch: pytest.MonkeyPatch, captured: tuple[logging.Logger, io.StringIO]
) -> None:
    monkeypatch.setenv("VENDOR_API_KEY", KEY)
    logger, _ = captured
    seen: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    collector = Collect()
    logger.addHandler(collector)
    try:
        logger.error("key=%s", KEY)
    finally:
        logger.removeHandler(collector)
    assert seen == [f"key={MASK}"]


def test_broken_format_string_does_not_break_logging() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%s %s", ("only one",), None)
    assert SecretMaskingFilter().filter(record) is True


def test_json_log_lines_carry_the_request_id(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setenv("VENDOR_TOKEN", KEY)
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    try:
        configure_logging("info", "json")
        logger = logging.getLogger("gpt_image_mcp.tests")
        logger.info("outside a request")
        token = request_id_var.set("req-42")
        try:
            logger.warning("inside a request with %s", KEY)
        finally:
            request_id_var.reset(token)
        logger.debug("not shown at info")
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved_handlers:
            root.addHandler(handler)
        root.setLevel(saved_level)
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.strip()]
    mine = [line for line in lines if line["logger"] == "gpt_image_mcp.tests"]
    assert [line["message"] for line in mine] == ["outside a request", f"inside a request with {MASK}"]
    assert "request_id" not in mine[0]
    assert mine[1]["request_id"] == "req-42" and mine[1]["level"] == "warning"
    assert {"time", "level", "logger", "message"} <= set(mine[0])


def test_text_log_format_and_stderr_only(capsys: pytest.CaptureFixture) -> None:
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    try:
        configure_logging("debug", "text")
        token = request_id_var.set("abc123")
        try:
            logging.getLogger("gpt_image_mcp.tests").debug("hello")
        finally:
            request_id_var.reset(token)
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved_handlers:
            root.addHandler(handler)
        root.setLevel(saved_level)
    out, err = capsys.readouterr()
    assert out == ""
    assert "DEBUG gpt_image_mcp.tests [abc123]: hello" in err
