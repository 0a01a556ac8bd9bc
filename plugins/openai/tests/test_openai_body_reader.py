"""The incremental JSON reader: any document, any chunking, gives `json.loads` plus the base64 decoding."""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

import pytest
from gpt_image_mcp_openai.streaming import BlobJSONReader, TruncatedBodyError, read_json
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.anyio

DATA_URL_PREFIX = re.compile(r"^data:[\w.+-]+/[\w.+-]+;base64,", re.IGNORECASE)
CORRUPT = "<corrupt>"
DATA_URL_PREFIXES = ["data:image/png;base64,", "DATA:image/webp;base64,", "data:x.y/a+b;base64,"]
TRICKY_TEXT = [
    '"b64_json": "',
    '{"b64_json": "QUJD"}',
    '\\"b64_json\\":\\"',
    "b64_json",
    "\\",
    '\\"',
    "\u00e9\u4e2d\U0001f600",
    "\x00\x1f",
    "data:image/png;base64,",
    "/",
]
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def reference_decode(text: str) -> bytes | str:
    """What the provider's `decode_image` makes of a `b64_json` string (CORRUPT where it refuses it)."""
    text = DATA_URL_PREFIX.sub("", text.strip())
    try:
        return binascii.a2b_base64(text, strict_mode=True)
    except (binascii.Error, ValueError):
        text = re.sub(r"\s+", "", text)
        try:
            return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
        except (binascii.Error, ValueError):
            return CORRUPT


def decoded(value: Any) -> Any:
    """`value` with every `b64_json` string decoded the provider's way (bytes left as they are)."""
    if isinstance(value, dict):
        return {
            key: reference_decode(item) if key == "b64_json" and isinstance(item, str) else decoded(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [decoded(item) for item in value]
    return value


def b64_strings(value: Any) -> list[Any]:
    """The `b64_json` values of a document, in order."""
    if isinstance(value, dict):
        found = [value["b64_json"]] if "b64_json" in value else []
        return found + [v for key, item in value.items() if key != "b64_json" for v in b64_strings(item)]
    if isinstance(value, list):
        return [v for item in value for v in b64_strings(item)]
    return []


def read(body: bytes, cuts: list[int]) -> Any:
    reader = BlobJSONReader()
    start = 0
    for cut in [*sorted(set(cuts)), len(body)]:
        reader.feed(body[start:cut])
        start = cut
    return reader.finish()


def split_points(draw: st.DrawFn, body: bytes) -> list[int]:
    return draw(st.lists(st.integers(0, len(body)), max_size=12))


# -- strategies --------------------------------------------------------------------------------------------

texts = st.one_of(st.text(max_size=20), st.sampled_from(TRICKY_TEXT))
keys = st.one_of(
    st.text(max_size=8).filter(lambda key: key != "b64_json"),
    st.sampled_from(["data", "revised_prompt", "url", "usage", "b64_json "]),
)
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**12), 10**12), st.floats(allow_nan=False, allow_infinity=False), texts
)


@st.composite
def clean_blobs(draw: st.DrawFn) -> tuple[str, bytes]:
    """A base64 string as servers send it (padding dropped, lines wrapped, a data: prefix...), and its bytes."""
    data = draw(st.binary(max_size=200))
    text = base64.b64encode(data).decode()
    if draw(st.booleans()):
        text = text.rstrip("=")
    if draw(st.booleans()):
        width = draw(st.integers(1, 80))
        separator = draw(st.sampled_from(["\n", "\r\n", " ", "\t"]))
        text = separator.join(text[i : i + width] for i in range(0, len(text), width))
    if draw(st.booleans()):
        text = draw(st.sampled_from(DATA_URL_PREFIXES)) + text
    return text, data


def with_key(items: dict[str, Any], key: str, value: Any, position: int) -> dict[str, Any]:
    pairs = [(k, v) for k, v in items.items() if k != key]
    pairs.insert(min(position, len(pairs)), (key, value))
    return dict(pairs)


@st.composite
def documents(draw: st.DrawFn, blob: st.SearchStrategy[Any]) -> dict[str, Any]:
    """An Images API-like answer: images with `b64_json` anywhere among other fields, random extra structure."""
    extra = st.recursive(
        scalars,
        lambda children: st.one_of(
            st.lists(children, max_size=3),
            st.builds(
                with_key, st.dictionaries(keys, children, max_size=3), st.just("b64_json"), blob, st.integers(0, 3)
            ),
            st.dictionaries(keys, children, max_size=3),
        ),
        max_leaves=8,
    )
    images = []
    for _ in range(draw(st.integers(0, 3))):
        fields = draw(st.dictionaries(st.sampled_from(["revised_prompt", "url", "note"]), texts, max_size=2))
        images.append(with_key(fields, "b64_json", draw(blob), draw(st.integers(0, 2))))
    document = {"created": draw(st.integers(0, 2**31)), "data": images, "more": draw(extra)}
    return with_key(draw(st.dictionaries(keys, scalars, max_size=2)), "body", document, 0)


@st.composite
def encodings(draw: st.DrawFn, document: Any) -> bytes:
    """`document` as JSON text in one of the ways servers write it."""
    text = json.dumps(
        document,
        ensure_ascii=draw(st.booleans()),
        indent=draw(st.sampled_from([None, 0, 2])),
        separators=draw(st.sampled_from([None, (",", ":"), (" , ", " : ")])),
    )
    if draw(st.booleans()):
        text = text.replace("/", "\\/")  # some servers escape every slash
    return text.encode()


# -- properties --------------------------------------------------------------------------------------------


@SETTINGS
@given(st.data())
def test_any_document_and_chunking_equals_json_loads_plus_base64(data: st.DataObject) -> None:
    document = data.draw(documents(clean_blobs().map(lambda pair: pair[0])))
    body = data.draw(encodings(document))
    result = read(body, split_points(data.draw, body))

    assert decoded(result) == decoded(json.loads(body))
    values = b64_strings(result)
    assert len(values) == len(b64_strings(document))
    assert all(isinstance(value, bytes) for value in values)  # every blob was decoded on the fly


@SETTINGS
@given(st.data())
def test_hostile_blobs_decode_as_the_provider_would(data: st.DataObject) -> None:
    base64ish = st.text(alphabet="ABCDabcd0189+/=\\ \n\r\t:;,-.\"'\u00e9datimgpnbse", max_size=40)
    corrupted = (
        clean_blobs()
        .map(lambda pair: pair[0])
        .flatmap(
            lambda text: st.tuples(
                st.integers(0, len(text)), st.sampled_from(["=", "%", "\\", "\u00e9", "==A", "data:"])
            ).map(lambda edit: text[: edit[0]] + edit[1] + text[edit[0] :])
        )
    )
    hostile = st.one_of(base64ish, corrupted, texts, scalars, st.lists(scalars, max_size=2))
    document = data.draw(documents(hostile))
    body = data.draw(encodings(document))

    assert decoded(read(body, split_points(data.draw, body))) == decoded(json.loads(body))


@SETTINGS
@given(st.data())
def test_a_body_cut_anywhere_is_truncated_not_parsed(data: st.DataObject) -> None:
    document = data.draw(documents(clean_blobs().map(lambda pair: pair[0])))
    body = data.draw(encodings(document))
    end = data.draw(st.integers(1, len(body) - 1))
    assume(body[:end].strip())

    with pytest.raises(TruncatedBodyError):
        read(body[:end], split_points(data.draw, body[:end]))


# -- examples ----------------------------------------------------------------------------------------------


def one_byte_at_a_time(body: bytes) -> Any:
    return read(body, list(range(len(body))))


def test_b64_json_inside_other_strings_is_not_a_key() -> None:
    prompt = 'ignore "b64_json": "QUJD" and \\"b64_json\\": \\ \\\\ \u00e9'
    body = json.dumps({"data": [{"revised_prompt": prompt, "b64_json": "QUJD"}], "b64_json": ["x"]}).encode()

    assert one_byte_at_a_time(body) == {"data": [{"revised_prompt": prompt, "b64_json": b"ABC"}], "b64_json": ["x"]}


def test_the_key_must_be_followed_by_a_colon() -> None:
    body = b'{"list": ["b64_json", "QUJD"], "b64_json" \n :\t "QUJD"}'

    assert one_byte_at_a_time(body) == {"list": ["b64_json", "QUJD"], "b64_json": b"ABC"}


@pytest.mark.parametrize("value", [None, 5, True, {"b64_json": "QUJD"}, ["QUJD"]])
def test_non_string_values_of_b64_json_are_left_alone(value: Any) -> None:
    body = json.dumps({"b64_json": value}).encode()

    assert one_byte_at_a_time(body) == decoded({"b64_json": value})


def test_escaped_slashes_newlines_and_a_data_url_with_escaped_slashes() -> None:
    data = bytes(range(256)) * 3
    text = "data:image\\/png;base64," + base64.encodebytes(data).decode().replace("\n", "\\n").replace("/", "\\/")
    body = b'{"data": [{"b64_json": "' + text.encode() + b'"}]}'

    assert one_byte_at_a_time(body) == {"data": [{"b64_json": data}]}


@pytest.mark.parametrize(
    ("blob", "expected"),
    [
        ("QUJD\\u0044", "QUJDD"),  # a \u escape: kept as text, decoded the provider's way later
        ("QU\\\\JD", "QU\\JD"),  # an escaped backslash
        ("QUJD\\\\n", "QUJD\\n"),  # an escaped backslash then n, not a newline escape
        ("QUJD\\\\nrREVG", "QUJD\\nrREVG"),  # the same inside: not "QUJD" + "REVG" with \n and \r dropped
        ("BZ\\\\nwAG8my\\frQ=", "BZ\\nwAG8my\frQ="),  # an escaped backslash, then a form feed escape
        ("QQ==QUJD", "QQ==QUJD"),  # data after padding
        ("%%%not-base64%%%", "%%%not-base64%%%"),
        ("data:text/plain,QUJD", "data:text/plain,QUJD"),  # a data: URL that is not base64
    ],
)
def test_unclean_blobs_stay_text_equal_to_what_json_loads_gives(blob: str, expected: str) -> None:
    body = b'{"b64_json": "' + blob.encode() + b'"}'

    result = one_byte_at_a_time(body)

    assert result == {"b64_json": expected}
    assert decoded(result) == decoded(json.loads(body))


@pytest.mark.parametrize("blob", ["QUJD\\\\nrREVG", "BZ\\\\nwAG8my\\frQ=", "QUJD\\nREVG\\/\\\\"])
def test_escapes_split_at_every_point_read_as_json_loads_does(blob: str) -> None:
    body = b'{"b64_json" :"' + blob.encode() + b'"}'
    for cut in range(1, len(body)):
        reader = BlobJSONReader()
        reader.feed(body[:cut])
        reader.feed(body[cut:])
        assert decoded(reader.finish()) == decoded(json.loads(body)), cut


def test_fallback_after_part_of_a_blob_was_decoded_keeps_an_equivalent_string() -> None:
    good = base64.b64encode(bytes(3000)).decode()
    for tail in ("%", "==A", "\\u0041"):
        body = json.dumps({"b64_json": "data:image/png;base64," + good + tail}).encode()
        reader = BlobJSONReader()
        for start in range(0, len(body), 1000):
            reader.feed(body[start : start + 1000])
        result = reader.finish()
        assert isinstance(result["b64_json"], str)
        assert decoded(result) == decoded(json.loads(body))


def test_placeholders_cannot_be_forged() -> None:
    forged = "\x00gpt-image-mcp-blob:0000000000000000:0"
    body = json.dumps({"b64_json": "QUJD", "other": {"b64_json": forged}}).encode()

    assert one_byte_at_a_time(body) == {"b64_json": b"ABC", "other": {"b64_json": forged}}


@pytest.mark.parametrize(
    "body",
    [b'{"data": [{"b64_json": "QUJD', b'{"data": [{"b64_json"', b'{"data": [{"b64_json": "QUJD"}', b'{"a": "\\'],
)
def test_truncated_bodies(body: bytes) -> None:
    with pytest.raises(TruncatedBodyError) as info:
        one_byte_at_a_time(body)
    assert info.value.received == len(body)


@pytest.mark.parametrize("body", [b"<html>proxy error</html>", b"", b"  ", b'{"a": 1}}', b'{"b64_json": "QUJD"} x'])
def test_invalid_json_is_a_json_error(body: bytes) -> None:
    with pytest.raises(json.JSONDecodeError):
        one_byte_at_a_time(body)


async def test_read_json_from_an_async_iterator() -> None:
    data = bytes(range(256)) * 1000
    body = json.dumps({"data": [{"b64_json": base64.b64encode(data).decode()}], "usage": {"total_tokens": 3}})

    async def chunks() -> Any:
        for start in range(0, len(body), 977):
            yield body[start : start + 977].encode()

    assert await read_json(chunks()) == {"data": [{"b64_json": data}], "usage": {"total_tokens": 3}}


@pytest.mark.parametrize(
    ("limit", "body", "message"),
    [
        ("MAX_BODY_BYTES", b'{"data": []}' + b" " * 5000, "the answer is larger than"),
        ("MAX_TEXT_BYTES", b'{"data": [], "x": "' + b"y" * 5000 + b'"}', "MiB of JSON besides its image data"),
        ("MAX_IMAGE_BYTES", b'{"b64_json": "' + b"A" * 8000 + b'"}', "an image of the answer is larger than"),
    ],
)
def test_answers_beyond_the_limits_are_refused_while_read(monkeypatch, limit: str, body: bytes, message: str) -> None:
    from gpt_image_mcp_openai import streaming

    monkeypatch.setattr(streaming, limit, 4096)
    reader = BlobJSONReader()
    with pytest.raises(streaming.AnswerTooLargeError, match=message):
        for start in range(0, len(body), 1000):
            reader.feed(body[start : start + 1000])
