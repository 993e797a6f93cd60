"""Reading request bodies within settings.gateway.max_body_bytes, and decoding JSON and forms."""
from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.requests import ClientDisconnect, Request

from gateway.errors import BodyTooLarge, MalformedBody


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body; refused by Content-Length before reading, and again while reading (chunked or lying)."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not is_ascii_digits(declared):
            raise MalformedBody("Content-Length is not a number")
        if int(declared) > limit:
            raise BodyTooLarge(f"the body exceeds {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise BodyTooLarge(f"the body exceeds {limit} bytes")
            chunks.append(chunk)
    except ClientDisconnect:
        raise MalformedBody("the client disconnected before the body ended") from None
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def is_ascii_digits(text: str) -> bool:
    """0-9 only. `str.isdigit` also accepts superscripts and other scripts' digits, which `int()` then
    refuses (`int("²")` raises) or reads as a number nobody sent (`int("٣")` is 3)."""
    return text.isascii() and text.isdigit()


def parse_json(raw: bytes) -> Any:
    if not raw:
        raise MalformedBody("a JSON body is required")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise MalformedBody("the body is not valid JSON (UTF-8)") from None


def parse_form(raw: bytes) -> dict[str, list[str]]:
    """application/x-www-form-urlencoded, as providers post it: {name: values in order}, names in order
    of first appearance; blank values kept (they are signed)."""
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=False, max_num_fields=1000)
    except (UnicodeDecodeError, ValueError):
        raise MalformedBody("the body is not a valid form") from None
    form: dict[str, list[str]] = {}
    for name, value in pairs:
        values = form.get(name)
        if values is None:
            form[name] = [value]
        else:
            values.append(value)
    return form
