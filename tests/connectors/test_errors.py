"""Error classification tables: provider code and HTTP status -> what the caller must do."""
from __future__ import annotations

import pytest

from connectors.errors import (
    ErrorTable,
    FallbackError,
    FinalError,
    InstanceError,
    ProviderError,
    RateLimitedError,
    RetryableError,
    classify_with,
    make_error,
)

# with no table (a provider with no codes of its own), the HTTP status decides
CASES = [
    ("no-response", None, None, RetryableError), ("http-408", None, 408, RetryableError),
    ("http-425", None, 425, RetryableError), ("http-429", None, 429, RateLimitedError),
    ("http-401", None, 401, InstanceError), ("http-403", None, 403, InstanceError),
    ("http-404", None, 404, FallbackError), ("http-500", None, 500, RetryableError),
    ("unknown-code-4xx", "123", 400, FallbackError), ("http-200", None, 200, RetryableError),
]


@pytest.mark.parametrize(("code", "http", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_classify_without_a_table(code: str | None, http: int | None, expected: type[ProviderError]) -> None:
    assert classify_with({}, code, http) is expected


def test_a_known_code_wins_over_the_http_status() -> None:
    table: ErrorTable = {"7": FinalError}
    assert classify_with(table, 7, 503) is FinalError and classify_with(table, "7", None) is FinalError


def test_kinds_and_circuit_flags() -> None:
    assert RateLimitedError.kind == "rate_limited" and issubclass(RateLimitedError, RetryableError)
    assert InstanceError.kind == "fallback" and InstanceError.opens_circuit
    assert not FallbackError.opens_circuit


def test_messages_carry_no_phi() -> None:
    err = make_error("p", {"7": FinalError}, 7, 400, retry_after=None, detail="create")
    assert str(err) == "p: final code=7 http=400 create"
    assert err.code == "7" and err.provider == "p" and err.http_status == 400
