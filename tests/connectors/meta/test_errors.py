"""The Graph API's error table: a code (and HTTP status) -> what the caller must do; one row per case."""
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
)
from connectors.meta.errors import ERROR_MAP

CASES = [
    ("re-engagement", 131047, 400, FallbackError), ("undeliverable-even-on-500", 131026, 500, FallbackError),
    ("unsupported-type", 131051, 400, FinalError), ("throughput", 130429, 400, RateLimitedError),
    ("pair-rate-limit", 131056, 400, RateLimitedError), ("policy-block", 368, 400, InstanceError),
    ("token-expired", 190, 401, InstanceError), ("http-502", None, 502, RetryableError),
    ("code-as-string", "131047", 400, FallbackError),
]


@pytest.mark.parametrize(("code", "http", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_classify(code: int | str | None, http: int | None, expected: type[ProviderError]) -> None:
    assert classify_with(ERROR_MAP, code, http) is expected
