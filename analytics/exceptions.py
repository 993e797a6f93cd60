"""Analytics errors, split by what the caller does next: retry later, fix the request, or authenticate."""
from __future__ import annotations

from schemas.errors import CarelayError


class AnalyticsError(CarelayError):
    """Root of the analytics package's errors. Messages never quote stored values."""


class StoreUnavailable(AnalyticsError):
    """ClickHouse could not be reached or refused the write: retry the same batch later."""


class StoreInUse(AnalyticsError):
    """The embedded store's directory is open in another process: only one process may own it."""


class QueryRejected(AnalyticsError):
    """An analyst's SQL is not a single read-only SELECT; the request must change."""


class BodyTooLarge(AnalyticsError):
    """A request body over the endpoint's limit; refused before the rest of it is read."""


class QueryFailed(AnalyticsError):
    """ClickHouse refused a query (syntax, limits, readonly); the message is ClickHouse's, scrubbed."""


class Unauthenticated(AnalyticsError):
    """No API key, or one that matches no known key."""


class Forbidden(AnalyticsError):
    """A known key whose role or organization does not allow this request."""
