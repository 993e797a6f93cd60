"""A provider's HTTP answer read leniently: JSON or None, Retry-After in seconds or None."""
from __future__ import annotations

from typing import Any

import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from connectors.http import HttpResponse


def answer(body: bytes, headers: dict[str, str] | None = None) -> HttpResponse:
    return HttpResponse(200, body, CIMultiDictProxy(CIMultiDict(headers or {})))


@pytest.mark.parametrize(("body", "parsed"), [
    pytest.param(b'{"error": {"code": 4}}', {"error": {"code": 4}}, id="json"),
    pytest.param(b"<html>502 Bad Gateway</html>", None, id="proxy-error-page"),
    pytest.param(b"", None, id="empty"),
])
def test_json_or_none(body: bytes, parsed: Any) -> None:
    assert answer(body).json_or_none() == parsed


@pytest.mark.parametrize(("headers", "seconds"), [
    pytest.param({}, None, id="absent"),
    pytest.param({"Retry-After": "7"}, 7.0, id="seconds"),
    pytest.param({"retry-after": "1.5"}, 1.5, id="any-case"),
    pytest.param({"Retry-After": "-3"}, 0.0, id="negative-is-now"),
    pytest.param({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, None, id="http-date-not-read"),
    pytest.param({"Retry-After": ""}, None, id="empty"),
])
def test_retry_after_s(headers: dict[str, str], seconds: float | None) -> None:
    assert answer(b"", headers).retry_after_s() == seconds
