"""Error classification tables: provider code and HTTP status -> what the caller must do."""
from __future__ import annotations

import pytest

from connectors import meta, twilio
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

# each provider module classifies with its own table
TABLES: dict[str, ErrorTable] = {
    "twilio": twilio.ERROR_MAP, "meta": meta.ERROR_MAP, "d360": meta.ERROR_MAP, "inapp": {},
}

CASES = [
    ("twilio", 21610, 400, FinalError), ("twilio", 21211, 400, FinalError), ("twilio", 21614, 400, FinalError),
    ("twilio", 30003, None, FallbackError), ("twilio", 30005, None, FallbackError),
    ("twilio", 30006, None, FallbackError), ("twilio", 30007, None, FallbackError),
    ("twilio", 30008, None, RetryableError), ("twilio", 63016, None, FallbackError),
    ("twilio", 20429, 429, RateLimitedError), ("twilio", None, 429, RateLimitedError),
    ("twilio", None, 503, RetryableError), ("twilio", None, None, RetryableError),
    ("twilio", 20003, 401, InstanceError), ("twilio", 99999, 400, FallbackError),
    ("meta", 131047, 400, FallbackError), ("meta", 131026, 500, FallbackError),
    ("meta", 131051, 400, FinalError), ("meta", 130429, 400, RateLimitedError),
    ("meta", 131056, 400, RateLimitedError), ("meta", 368, 400, InstanceError),
    ("meta", 190, 401, InstanceError), ("meta", None, 502, RetryableError), ("d360", "131047", 400, FallbackError),
    ("inapp", None, 500, RetryableError),
]


@pytest.mark.parametrize(("provider", "code", "http", "expected"), CASES)
def test_classify(provider: str, code: int | None, http: int | None, expected: type[ProviderError]) -> None:
    assert classify_with(TABLES[provider], code, http) is expected


def test_kinds_and_circuit_flags() -> None:
    assert RateLimitedError.kind == "rate_limited" and issubclass(RateLimitedError, RetryableError)
    assert InstanceError.kind == "fallback" and InstanceError.opens_circuit
    assert not FallbackError.opens_circuit


def test_messages_carry_no_phi() -> None:
    err = make_error("twilio", twilio.ERROR_MAP, 21610, 400, retry_after=None, detail="create")
    assert str(err) == "twilio: final code=21610 http=400 create"
    assert err.code == "21610" and err.provider == "twilio" and err.http_status == 400
