"""Provider errors, split by what the caller must do next; and the pure code -> class classification.

Each provider module declares its own table {code: error class} at its top; `classify_with` applies
one. Messages carry provider, code and HTTP status only: never a number, a name or message text.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from schemas.errors import CarelayError


class ProviderError(CarelayError):
    """A provider refused or failed a request. `kind` is the ProviderStatus.error_class value."""

    kind: ClassVar[str] = "retryable"
    opens_circuit: ClassVar[bool] = False  # the channel instance itself is broken, not this message
    in_doubt: ClassVar[bool] = False  # the provider may have accepted the request after all

    def __init__(
        self,
        provider: str,
        code: str | None = None,
        http_status: int | None = None,
        *,
        retry_after: float | None = None,
        detail: str = "",
    ) -> None:
        self.provider = provider
        self.code = code
        self.http_status = http_status
        self.retry_after = retry_after
        self.detail = detail  # our own words (e.g. "timeout"), never provider text that may echo PHI
        parts = [f"{provider}: {self.kind}", f"code={code}" if code else "",
                 f"http={http_status}" if http_status else "", detail]
        super().__init__(" ".join(p for p in parts if p))


class RetryableError(ProviderError):
    """Transient: try the same channel again later (after `retry_after` seconds when known)."""

    kind = "retryable"


class InDoubtError(RetryableError):
    """The request may have reached the provider (timeout, dropped connection after sending): look the
    attempt up (Connector.find_sent) or wait for its status callback before sending it again."""

    in_doubt = True


class RateLimitedError(RetryableError):
    """The provider throttled us: slow down this instance and retry after `retry_after`."""

    kind = "rate_limited"


class FallbackError(ProviderError):
    """Permanent for this channel: try the patient's next channel."""

    kind = "fallback"


class InstanceError(FallbackError):
    """The channel instance is unusable (expired token, blocked sender): fall back and open its circuit."""

    opens_circuit = True


class FinalError(ProviderError):
    """Permanent for the patient: no channel will help (invalid number, opted out)."""

    kind = "final"


ErrorTable = Mapping[str, type[ProviderError]]
ERROR_CLASSES: Mapping[str, type[ProviderError]] = {
    "retryable": RetryableError, "rate_limited": RateLimitedError, "fallback": FallbackError,
    "instance": InstanceError, "final": FinalError,
}


def classify_with(table: ErrorTable, code: str | int | None, http_status: int | None) -> type[ProviderError]:
    """A known provider code wins; then HTTP 429 (rate limited), 401/403 (instance), 5xx or no
    response (retryable); any other 4xx is treated as permanent for this channel (fallback)."""
    if code is not None and str(code) in table:
        return table[str(code)]
    if http_status is None or http_status >= 500 or http_status in (408, 425):
        return RetryableError
    if http_status == 429:
        return RateLimitedError
    if http_status in (401, 403):
        return InstanceError
    if http_status >= 400:
        return FallbackError
    return RetryableError


def make_error(
    provider: str, table: ErrorTable, code: str | int | None, http_status: int | None, *,
    retry_after: float | None = None, detail: str = "",
) -> ProviderError:
    """The error for a provider's code and HTTP status (None: no HTTP response at all), classified by the
    provider module's own `table`."""
    cls = classify_with(table, code, http_status)
    return cls(provider, None if code is None else str(code), http_status, retry_after=retry_after, detail=detail)
