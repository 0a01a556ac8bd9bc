"""Cleaning prompts before they go upstream (and into logs and file metadata).

`sanitize_prompt` removes characters that have no business in a prompt and can hide or reorder what a
person reviewing it sees:

- C0 control characters (U+0000-U+001F) except tab and line feed, DEL (U+007F) and C1 controls
  (U+0080-U+009F). A carriage return becomes a line feed (CRLF -> LF), so Windows line breaks survive;
- bidirectional overrides, embeddings and isolates (U+202A-U+202E, U+2066-U+2069) and the direction marks
  U+200E, U+200F and U+061C, which can make text display in an order different from the one the model
  reads ("Trojan Source");
- unpaired surrogates (U+D800-U+DFFF), which cannot be encoded as UTF-8 and would fail the upstream request.

Everything else is kept exactly: every script, combining marks, emoji with their variation selectors, skin
tones, zero-width joiner (U+200D) and non-joiner (U+200C) sequences, regional-indicator and tag-sequence flags.
No normalisation (NFC/NFKC) is applied: it would change what the user wrote.
"""

from __future__ import annotations

import re

_C0 = {code: None for code in range(0x20) if code not in (0x09, 0x0A)}
_C1 = {code: None for code in range(0x7F, 0xA0)}  # DEL and C1
_BIDI = {code: None for code in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C)}
_REMOVE: dict[int, None] = {**_C0, **_C1, **_BIDI}
_SURROGATE = re.compile("[\ud800-\udfff]")
_LINE_BREAK = re.compile("\r\n?")

#: Every code point `sanitize_prompt` removes (surrogates aside).
REMOVED_CODE_POINTS = frozenset(_REMOVE) - {0x0D}


def sanitize_prompt(text: str) -> str:
    """`text` without control, bidirectional-override and unpaired-surrogate characters (see module docstring)."""
    if not text:
        return text
    if "\r" in text:
        text = _LINE_BREAK.sub("\n", text)
    text = text.translate(_REMOVE)
    if _SURROGATE.search(text):
        text = _SURROGATE.sub("", text)
    return text
