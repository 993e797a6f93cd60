"""Analytics errors, one row each: the package root, and what the HTTP API answers (status, code)."""
from __future__ import annotations

import orjson
import pytest

from analytics.exceptions import (
    AnalyticsError,
    BodyTooLarge,
    Forbidden,
    QueryFailed,
    QueryRejected,
    StoreInUse,
    StoreUnavailable,
    Unauthenticated,
)
from analytics.http import error_response
from schemas.errors import CarelayError


@pytest.mark.parametrize(("exc", "status", "code"), [
    pytest.param(StoreUnavailable("down"), 503, "store_unavailable", id="retry-later"),
    pytest.param(QueryRejected("not one select"), 400, "query_rejected", id="fix-the-request"),
    pytest.param(QueryFailed("syntax"), 400, "query_failed", id="clickhouse-refused"),
    pytest.param(BodyTooLarge("big"), 413, "body_too_large", id="body-too-large"),
    pytest.param(Unauthenticated("no key"), 401, "unauthenticated", id="authenticate"),
    pytest.param(Forbidden("role"), 403, "forbidden", id="not-allowed"),
    pytest.param(StoreInUse("owned"), 500, "analytics_error", id="store-in-use-is-the-operators"),
    pytest.param(AnalyticsError("other"), 500, "analytics_error", id="root"),
])
def test_each_error_is_an_analytics_error_with_its_answer(exc: AnalyticsError, status: int, code: str) -> None:
    assert isinstance(exc, AnalyticsError) and isinstance(exc, CarelayError)
    response = error_response(exc)
    assert (response.status_code, orjson.loads(response.body)) == (status, {"error": code, "message": str(exc)})
    assert ("www-authenticate" in response.headers) is (status == 401)
