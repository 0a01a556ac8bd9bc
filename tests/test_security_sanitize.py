"""sanitize_prompt: controls and bidi overrides go, every script, emoji sequence and combining mark stays."""

from __future__ import annotations

import unicodedata

import pytest
from gpt_image_mcp.sanitize import REMOVED_CODE_POINTS, sanitize_prompt
from hypothesis import example, given, settings
from hypothesis import strategies as st

C0_REMOVED = [chr(code) for code in range(0x20) if code not in (0x09, 0x0A, 0x0D)]
C1_REMOVED = [chr(code) for code in range(0x7F, 0xA0)]
BIDI = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"]
MARKS = ["\u200e", "\u200f", "\u061c"]
FORBIDDEN = set(C0_REMOVED + C1_REMOVED + BIDI + MARKS + ["\r"])

KEPT_AS_IS = [
    "a red fox in the snow, golden hour, 35mm",
    "line one\nline two\twith a tab",
    "👩‍👩‍👧‍👦 family, 🏳️‍🌈 flag, 👍🏽 thumbs, 1️⃣ keycap, 🇫🇷 flag, ❤️ heart",
    "🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f England (tag sequence)",
    "🧑🏿‍🚀 astronaut with skin tone, 👨‍💻 coder",
    "e\u0301 decomposed é, n\u0303, Z̴̡̛͓̙a̷͎̐l̸̢̈g̴̝͝ò̸̞",  # combining marks, zalgo
    "क्षत्रिय हिन्दी देवनागरी",  # Devanagari conjuncts with virama
    "مرحبا بِالعَالَم",  # Arabic with harakat
    "שָׁלוֹם עוֹלָם",  # Hebrew with niqqud
    "ภาษาไทย สวัสดี",  # Thai
    "日本語のテキスト、中文，한국어 텍스트",  # CJK and Hangul
    "ZWNJ in Persian: می\u200cخواهم",  # zero-width non-joiner is kept
    "Ελληνικά, Кириллица, Ἀρχιμήδης",
    "math: ∑ x² ≤ ∞, arrows → ⇒, currency € £ ¥ ₹",
    "variation selectors: ☺︎ ☺️ and a line\u2028separator",
]


@pytest.mark.parametrize("text", KEPT_AS_IS)
def test_ordinary_text_in_every_script_is_unchanged(text: str) -> None:
    assert sanitize_prompt(text) == text


@pytest.mark.parametrize("char", C0_REMOVED + C1_REMOVED, ids=lambda c: f"U+{ord(c):04X}")
def test_control_characters_are_removed(char: str) -> None:
    assert sanitize_prompt(f"a{char}b") == "ab"


@pytest.mark.parametrize("char", BIDI + MARKS, ids=lambda c: f"U+{ord(c):04X}")
def test_bidi_overrides_isolates_and_marks_are_removed(char: str) -> None:
    assert sanitize_prompt(f"safe{char}text") == "safetext"


def test_trojan_source_style_prompt_reads_in_logical_order() -> None:
    sneaky = "draw a cat \u202e\u2066 tac a ward ton od\u2069 \u2066please\u2069"
    assert sanitize_prompt(sneaky) == "draw a cat  tac a ward ton od please"


def test_nul_and_escape_sequences_are_removed() -> None:
    assert sanitize_prompt("a\x00b\x1b[31mred\x1b[0m") == "ab[31mred[0m"


def test_carriage_returns_become_line_feeds() -> None:
    assert sanitize_prompt("one\r\ntwo\rthree\n") == "one\ntwo\nthree\n"


def test_arabic_letter_mark_removed_but_arabic_kept() -> None:
    assert sanitize_prompt("\u061cمرحبا") == "مرحبا"


def test_unpaired_surrogates_are_removed_so_the_text_encodes() -> None:
    cleaned = sanitize_prompt("ok\ud800 then \udfff end")
    assert cleaned == "ok then  end"
    cleaned.encode("utf-8")


def test_zwj_between_emoji_survives_next_to_removed_characters() -> None:
    assert sanitize_prompt("\u202e👩\u200d🚀\x00") == "👩\u200d🚀"


def test_empty_text() -> None:
    assert sanitize_prompt("") == ""


def test_removed_code_points_are_exactly_the_documented_ones() -> None:
    expected = {ord(c) for c in FORBIDDEN - {"\r"}}
    assert expected == REMOVED_CODE_POINTS


any_text = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=200)


@settings(max_examples=400, deadline=None)
@given(any_text)
@example("\x00\u202e\ud800\r\n")
def test_property_nothing_forbidden_remains_and_it_is_idempotent(text: str) -> None:
    cleaned = sanitize_prompt(text)
    assert not (set(cleaned) & FORBIDDEN)
    assert not any(unicodedata.category(c) == "Cs" for c in cleaned)
    assert sanitize_prompt(cleaned) == cleaned


@settings(max_examples=400, deadline=None)
@given(any_text)
def test_property_only_deletes_except_line_breaks(text: str) -> None:
    cleaned = sanitize_prompt(text)
    normalised = text.replace("\r\n", "\n").replace("\r", "\n")
    kept = [c for c in normalised if c not in FORBIDDEN and unicodedata.category(c) != "Cs"]
    assert cleaned == "".join(kept)


safe_text = st.text(
    alphabet=st.characters(
        exclude_categories=("Cs", "Cc"), exclude_characters="".join(BIDI + MARKS), include_characters="\n\t"
    ),
    max_size=200,
)


@settings(max_examples=400, deadline=None)
@given(safe_text)
def test_property_text_without_forbidden_characters_is_unchanged(text: str) -> None:
    assert sanitize_prompt(text) == text
