"""Request bodies as tables: the size limit (declared and actual), JSON and form decoding, each refusal named."""
from __future__ import annotations

import asyncio
from typing import Any

import pytest
from starlette.requests import Request

from gateway.body import is_ascii_digits, parse_form, parse_json, read_body
from gateway.errors import BodyTooLarge, MalformedBody

LIMIT = 10


def request(chunks: list[bytes], content_length: str | None, *, disconnect: bool = False) -> Request:
    headers = [(b"content-length", content_length.encode())] if content_length is not None else []
    messages: list[dict[str, Any]] = [
        {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)]
    if disconnect:
        messages = [{**messages[0], "more_body": True}, {"type": "http.disconnect"}]

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    return Request({"type": "http", "method": "POST", "path": "/", "headers": headers}, receive)


@pytest.mark.parametrize(("chunks", "content_length", "expected"), [
    pytest.param([b"{}"], "2", b"{}", id="one-chunk"),
    pytest.param([b'{"a"', b":1}"], None, b'{"a":1}', id="chunked-joined"),
    pytest.param([b"x" * LIMIT], str(LIMIT), b"x" * LIMIT, id="exactly-the-limit"),
    pytest.param([b""], "0", b"", id="empty"),
    pytest.param([b"x" * 11], str(LIMIT + 1), BodyTooLarge, id="declared-over-the-limit"),
    pytest.param([b"x" * 6, b"x" * 5], None, BodyTooLarge, id="chunked-over-the-limit"),
    pytest.param([b"x" * 11], "3", BodyTooLarge, id="lying-content-length"),
    pytest.param([b"{}"], "two", MalformedBody, id="content-length-not-a-number"),
    pytest.param([b"{}"], "²", MalformedBody, id="content-length-superscript-digit"),
    pytest.param([b"{}"], None, MalformedBody, id="client-disconnected"),
])
def test_read_body(chunks: list[bytes], content_length: str | None, expected: bytes | type[Exception]) -> None:
    req = request(chunks, content_length, disconnect=expected is MalformedBody and content_length is None)
    if isinstance(expected, bytes):
        assert asyncio.run(read_body(req, LIMIT)) == expected
    else:
        with pytest.raises(expected):
            asyncio.run(read_body(req, LIMIT))


@pytest.mark.parametrize(("text", "digits"), [
    pytest.param("123", True, id="ascii-digits"),
    pytest.param("", False, id="empty"),
    pytest.param("12a", False, id="letter"),
    pytest.param("-1", False, id="sign"),
    pytest.param("²", False, id="superscript"),
    pytest.param("٣", False, id="arabic-indic-digit"),
])
def test_is_ascii_digits(text: str, digits: bool) -> None:
    assert is_ascii_digits(text) is digits


@pytest.mark.parametrize(("raw", "expected"), [
    pytest.param(b'{"a": [1, "b"]}', {"a": [1, "b"]}, id="object"),
    pytest.param(b"[1]", [1], id="any-json-value"),
    pytest.param(b"", MalformedBody, id="empty"),
    pytest.param(b"{", MalformedBody, id="not-json"),
    pytest.param(b'"\xff"', MalformedBody, id="not-utf8"),
])
def test_parse_json(raw: bytes, expected: object) -> None:
    if expected is MalformedBody:
        with pytest.raises(MalformedBody):
            parse_json(raw)
    else:
        assert parse_json(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), [
    pytest.param(b"To=%2B1555&Body=hi", {"To": ["+1555"], "Body": ["hi"]}, id="fields"),
    pytest.param(b"B=1&A=2&B=3", {"B": ["1", "3"], "A": ["2"]}, id="repeated-in-order"),
    pytest.param(b"A=&B=x", {"A": [""], "B": ["x"]}, id="blank-kept"),
    pytest.param(b"Body=a+b%21", {"Body": ["a b!"]}, id="plus-and-percent-decoded"),
    pytest.param(b"", {}, id="empty"),
    pytest.param(b"A=\xff", MalformedBody, id="not-utf8"),
    pytest.param(b"&".join(b"f%d=1" % i for i in range(1001)), MalformedBody, id="too-many-fields"),
])
def test_parse_form(raw: bytes, expected: object) -> None:
    if expected is MalformedBody:
        with pytest.raises(MalformedBody):
            parse_form(raw)
    else:
        assert parse_form(raw) == expected
        assert list(parse_form(raw)) == list(expected)  # type: ignore[call-overload]  # names in first-seen order
