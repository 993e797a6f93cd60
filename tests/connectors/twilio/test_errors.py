"""Twilio's error table: a code (and HTTP status) -> what the caller must do; one row per case."""
from __future__ import annotations

import pytest

from connectors.errors import (
    FallbackError,
    FinalError,
    InstanceError,
    ProviderError,
    RateLimitedError,
    RetryableError,
    classify_with,
    make_error,
)
from connectors.twilio.errors import ERROR_MAP, OPT_OUT

CASES = [
    ("opted-out", 21610, 400, FinalError), ("invalid-to", 21211, 400, FinalError),
    ("not-a-mobile", 21614, 400, FinalError), ("unreachable", 30003, None, FallbackError),
    ("unknown-destination", 30005, None, FallbackError), ("landline", 30006, None, FallbackError),
    ("carrier-filtered", 30007, None, FallbackError), ("unknown-error", 30008, None, RetryableError),
    ("whatsapp-window", 63016, None, FallbackError), ("too-many-requests", 20429, 429, RateLimitedError),
    ("http-429", None, 429, RateLimitedError), ("http-503", None, 503, RetryableError),
    ("no-response", None, None, RetryableError), ("auth-failed", 20003, 401, InstanceError),
    ("unknown-code-4xx", 99999, 400, FallbackError),
]


@pytest.mark.parametrize(("code", "http", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_classify(code: int | None, http: int | None, expected: type[ProviderError]) -> None:
    assert classify_with(ERROR_MAP, code, http) is expected


def test_opt_out_is_final() -> None:
    assert ERROR_MAP[OPT_OUT] is FinalError


def test_messages_carry_no_phi() -> None:
    err = make_error("twilio", ERROR_MAP, 21610, 400, retry_after=None, detail="create")
    assert str(err) == "twilio: final code=21610 http=400 create"
    assert err.code == "21610" and err.provider == "twilio" and err.http_status == 400
