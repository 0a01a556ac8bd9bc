"""Reading a JSON answer chunk by chunk with every `b64_json` value base64-decoded as it arrives.

A 3840x2160 PNG comes as ~33 MB of JSON. Read whole, the body, the parsed base64 string and the decoded image
are all alive at once. `BlobJSONReader` keeps only the small rest of the document as text, with each `b64_json`
string replaced by a placeholder; it decodes those strings into `bytes` as their chunks arrive and puts them
back after `json.loads`.

Inside a blob it takes base64, the escapes `\\/`, `\\n`, `\\r` and `\\t`, spaces, missing `=` padding and a
leading `data:<type>;base64,`. Anything else (other escapes, invalid base64, padding in the middle) ends the
on-the-fly decoding of that blob: it stays a JSON string (what was decoded so far re-encoded, the rest as
sent), so the caller's decoding sees an equivalent string and reports it as it would have without this module.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import os
import re
from collections.abc import AsyncIterable
from typing import Any

_KEY = b'"b64_json"'
#: The rest of a JSON string from inside it: stops at the closing quote, at a lone trailing backslash or at the end.
_STRING_BODY = re.compile(rb'[^"\\]*(?:\\.[^"\\]*)*', re.DOTALL)
_WHITESPACE = re.compile(rb"[ \t\r\n]*")
#: What json.loads stops at when a document ends inside `true`, `false`, `null` or a number.
_CUT_LITERAL = re.compile(r"t(?:ru?)?|f(?:a(?:ls?)?)?|n(?:ul?)?|-|\.|[eE][-+]?")
_DATA_URL_PREFIX = re.compile(rb"data:[\w.+-]+/[\w.+-]+;base64,", re.IGNORECASE)
#: How far into a blob starting with `data:` the comma that ends its prefix is looked for.
_MAX_PREFIX = 256
_QUOTE, _COLON, _BACKSLASH = ord('"'), ord(":"), ord("\\")
#: One escape sequence; inside a blob only `\\/` (a slash) and `\\n`, `\\r`, `\\t` (dropped, like spaces) are taken.
_ESCAPE = re.compile(rb"\\(.)", re.DOTALL)
_UNESCAPED = {b"/": b"/", b"n": b"", b"r": b"", b"t": b""}
_OUTSIDE, _IN_STRING, _AFTER_KEY = range(3)


async def read_json(chunks: AsyncIterable[bytes]) -> Any:
    """The JSON document of `chunks`, with each `b64_json` string value decoded to `bytes`.

    Raises `TruncatedBodyError` when the body ends inside the document, `json.JSONDecodeError` when it is not
    JSON. A `b64_json` value that is not clean base64 stays a `str`.
    """
    reader = BlobJSONReader()
    async for chunk in chunks:
        reader.feed(chunk)
    return reader.finish()


#: Limits of one answer, far above what a sane upstream sends: a 3840x2160 PNG of pure noise is 24 MiB (33 MB of
#: base64), the largest any model makes; ten of them about 330 MB of JSON.
MAX_BODY_BYTES = 512 * 1024 * 1024
#: The document around the image data (keys, numbers, spaces, and base64 that could not be decoded on the fly).
MAX_TEXT_BYTES = 64 * 1024 * 1024
#: One image, decoded.
MAX_IMAGE_BYTES = 64 * 1024 * 1024


class AnswerTooLargeError(ValueError):
    """The answer went past one of the limits above (a decompression bomb, a runaway upstream)."""


class TruncatedBodyError(ValueError):
    """The body ended inside the JSON document (a connection closed early, not an upstream that sent non-JSON)."""

    def __init__(self, received: int) -> None:
        super().__init__(f"the body ended after {received} bytes, inside the JSON document")
        self.received = received


class _Fallback(Exception):
    """The blob cannot be decoded on the fly: keep it as JSON text."""


def _match_end(pattern: re.Pattern[bytes], text: bytearray, pos: int) -> int:
    """Where `pattern` (which matches the empty string) stops matching from `pos`."""
    match = pattern.match(text, pos)
    return match.end() if match is not None else pos


def _unescape(match: re.Match[bytes]) -> bytes:
    replacement = _UNESCAPED.get(match.group(1))
    if replacement is None:  # an escaped backslash or quote, \u...: not base64, keep the string as JSON text
        raise _Fallback
    return replacement


def _odd_backslashes_at_end(data: bytes) -> bool:
    return (len(data) - len(data.rstrip(b"\\"))) % 2 == 1


class _Blob:
    """The text of one JSON string (without its quotes), base64-decoded part by part."""

    def __init__(self) -> None:
        self._out = io.BytesIO()
        #: Base64 characters (escapes and spaces removed) short of a group of four.
        self._carry = b""
        #: Raw text not decoded yet: the start while a `data:` prefix is in question, or a trailing backslash.
        self._held = b""
        #: The `data:...;base64,` prefix skipped at the start, as sent (kept for `salvage`).
        self._prefix = b""
        self._started = False
        #: Whether the last decoded group ended with `=` (any further base64 is invalid).
        self._padded = False

    @property
    def escape_pending(self) -> bool:
        """Whether the held text ends with a backslash that escapes the next character."""
        return _odd_backslashes_at_end(self._held)

    def feed(self, raw: bytes, *, last: bool) -> None:
        """Decode the next part of the string's text; raise `_Fallback` (changing nothing) when it is not clean."""
        text = self._held + raw
        started, prefix = self._started, self._prefix
        if not started:
            if len(text) < 5 and not last:
                self._held = text
                return
            if text[:5].lower() == b"data:":
                comma = text.find(b",", 0, _MAX_PREFIX)
                if comma < 0:
                    if len(text) < _MAX_PREFIX and not last:
                        self._held = text
                        return
                    raise _Fallback
                prefix, text = text[: comma + 1], text[comma + 1 :]
                if not _DATA_URL_PREFIX.fullmatch(prefix.replace(b"\\/", b"/")):
                    raise _Fallback
            started = True
        held = b""
        if not last and _odd_backslashes_at_end(text):
            text, held = text[:-1], text[-1:]
        if b"\\" in text:
            text = _ESCAPE.sub(_unescape, text)  # one pass: `\\n` is an escaped backslash, then "n"
        if b" " in text:
            text = text.replace(b" ", b"")
        if text and self._padded:
            raise _Fallback
        text = self._carry + text
        cut = len(text) if last else len(text) - len(text) % 4
        group, carry = text[:cut], text[cut:]
        if group:
            try:
                decoded = binascii.a2b_base64(group + b"=" * (-len(group) % 4), strict_mode=True)
            except binascii.Error:
                raise _Fallback from None
            self._out.write(decoded)
            if self._out.tell() > MAX_IMAGE_BYTES:
                raise AnswerTooLargeError(f"an image of the answer is larger than {MAX_IMAGE_BYTES // 2**20} MiB")
            self._padded = group.endswith(b"=")
        self._carry, self._held, self._started, self._prefix = carry, held, started, prefix

    def value(self) -> bytes:
        return self._out.getvalue()

    def salvage(self) -> tuple[bytes, bytes]:
        """JSON string text equivalent to what was fed so far: (base64 of the decoded part, raw text held back)."""
        return self._prefix + base64.b64encode(self._out.getvalue()) + self._carry, self._held


class BlobJSONReader:
    """Incremental reader: `feed` the body's chunks, then `finish` for the document."""

    def __init__(self) -> None:
        #: The document without its blobs (each replaced by a placeholder string).
        self._text = bytearray()
        #: `_text` is scanned up to here; `_token` is where the string being scanned starts.
        self._pos = 0
        self._token = 0
        self._state = _OUTSIDE
        self._colon = False
        self._blob: _Blob | None = None
        self._blobs: dict[str, bytes] = {}
        self._nonce = os.urandom(8).hex()
        self._received = 0

    def feed(self, chunk: bytes) -> None:
        self._received += len(chunk)
        if self._received > MAX_BODY_BYTES:
            raise AnswerTooLargeError(f"the answer is larger than {MAX_BODY_BYTES // 2**20} MiB")
        while chunk:
            if self._blob is not None:
                chunk = self._feed_blob(self._blob, chunk)
            else:
                self._text += chunk
                self._check_text()
                chunk = self._scan()

    def _check_text(self) -> None:
        if len(self._text) > MAX_TEXT_BYTES:
            raise AnswerTooLargeError(
                f"the answer has more than {MAX_TEXT_BYTES // 2**20} MiB of JSON besides its image data"
            )

    def finish(self) -> Any:
        """The document, blobs restored; `TruncatedBodyError` or `json.JSONDecodeError` when there is none."""
        if self._blob is not None or self._state != _OUTSIDE:  # inside a string, or after `"b64_json"`
            raise TruncatedBodyError(self._received)
        try:
            return json.loads(self._text, object_hook=self._restore if self._blobs else None)
        except json.JSONDecodeError as exc:
            # Cut short: "expecting ..." at the very end, or at the start of a literal or number cut in two.
            rest = exc.doc.rstrip()
            if rest and (exc.pos >= len(rest) or _CUT_LITERAL.fullmatch(rest, exc.pos)):
                raise TruncatedBodyError(self._received) from None
            raise

    def _restore(self, obj: dict[str, Any]) -> dict[str, Any]:
        value = obj.get("b64_json")
        if type(value) is str and value in self._blobs:
            obj["b64_json"] = self._blobs.pop(value)
        return obj

    def _scan(self) -> bytes:
        """Scan the new text for `"b64_json": "`; return what follows the opening quote of a blob, else b""."""
        text, pos, end = self._text, self._pos, len(self._text)
        while pos < end:
            if self._state == _OUTSIDE:
                found = text.find(b'"', pos)
                if found < 0:
                    pos = end
                    break
                self._token, pos, self._state = found, found + 1, _IN_STRING
            elif self._state == _IN_STRING:
                stop = _match_end(_STRING_BODY, text, pos)
                if stop >= end or text[stop] != _QUOTE:  # the string goes on in the next chunk
                    pos = stop
                    break
                pos = stop + 1
                is_key = pos - self._token == len(_KEY) and text[self._token : pos] == _KEY
                self._state, self._colon = (_AFTER_KEY, False) if is_key else (_OUTSIDE, False)
            else:
                pos = _match_end(_WHITESPACE, text, pos)
                if pos >= end:
                    break
                if not self._colon and text[pos] == _COLON:
                    self._colon, pos = True, pos + 1
                elif self._colon and text[pos] == _QUOTE:
                    rest = bytes(text[pos + 1 :])
                    del text[pos:]
                    self._pos, self._state, self._blob = pos, _OUTSIDE, _Blob()
                    return rest
                else:
                    self._state = _OUTSIDE
        self._pos = pos
        return b""

    def _feed_blob(self, blob: _Blob, chunk: bytes) -> bytes:
        """Pass the blob's part of `chunk` to it; return the rest of the chunk."""
        end = self._closing_quote(chunk, escaped=blob.escape_pending)
        try:
            blob.feed(chunk if end < 0 else chunk[:end], last=end >= 0)
        except _Fallback:
            # Keep the string as text from here on: the reader goes on as inside any other string.
            decoded, held = blob.salvage()
            self._blob, self._state = None, _IN_STRING
            self._token = len(self._text)
            self._text += b'"' + decoded
            self._pos = len(self._text)
            self._text += held
            self._check_text()
            return chunk
        if end < 0:
            return b""
        placeholder = f"\x00gpt-image-mcp-blob:{self._nonce}:{len(self._blobs)}"
        self._blobs[placeholder] = blob.value()
        self._blob = None
        self._text += json.dumps(placeholder).encode()
        self._pos = len(self._text)
        return chunk[end + 1 :]

    @staticmethod
    def _closing_quote(chunk: bytes, *, escaped: bool) -> int:
        """Index of the first unescaped quote in `chunk` (-1 if none); `escaped`: a backslash came just before."""
        found = chunk.find(b'"')
        while found >= 0:
            start = found
            while start > 0 and chunk[start - 1] == _BACKSLASH:
                start -= 1
            backslashes = found - start + (1 if start == 0 and escaped else 0)
            if backslashes % 2 == 0:
                return found
            found = chunk.find(b'"', found + 1)
        return -1
