"""Refusals (401, 403, bad signatures, failed verify handshakes): counted per window, limited per source.

A refused request is nobody's access, and anyone can send one: a flood of them must cost neither
the sends' Kafka queue nor one audit write each. So a refusal is tallied (`Auditor.tally`: one
`denied` record per actor, action, reason, route and source address per window, with the number of
requests) instead of written one by one, and each source address may be refused
`CARELAY_GATEWAY_REFUSALS_PER_MINUTE` times per minute; past that, its refusals are answered 429
with Retry-After until its minute is over. Only refusals are limited: a request whose credentials
verify is served whatever its address did, so a client behind the same proxy or NAT as a flood
loses nothing (the address is the connection's, or uvicorn's `--proxy-headers` one).
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable

from gateway.audit import DENIED, Actor, Auditor
from gateway.errors import TooManyRefusals
from gateway.metrics import GatewayMetrics

WINDOW_S = 60.0
MAX_SOURCES = 100_000  # addresses remembered at once; the oldest windows go first beyond it


class SourceLimiter:
    """At most `per_window` refusals per source address per fixed window of `window_s` seconds,
    starting at its first refusal. Pure: time is passed in. Memory is bounded: windows are kept in
    the order they started, so expired ones leave from the front, and past `max_sources` the
    oldest are forgotten (a forgotten source starts afresh)."""

    def __init__(self, per_window: int, window_s: float = WINDOW_S, max_sources: int = MAX_SOURCES) -> None:
        self.per_window = per_window
        self.window_s = window_s
        self.max_sources = max_sources
        self._windows: dict[str, list[float]] = {}  # source -> [window start, refusals], oldest first

    def __len__(self) -> int:
        return len(self._windows)

    def charge(self, source: str, now: float) -> float | None:
        """Count one refusal of `source`: None while within its budget, else the seconds until its
        window ends (when it may be refused normally again)."""
        if self.per_window <= 0:
            return None
        window = self._windows.get(source)
        if window is None or now >= window[0] + self.window_s:
            if window is not None:
                del self._windows[source]  # re-inserted last: the dict stays in window-start order
            self._prune(now)
            window = self._windows[source] = [now, 0]
        window[1] += 1
        if window[1] <= self.per_window:
            return None
        return window[0] + self.window_s - now

    def _prune(self, now: float) -> None:
        windows = self._windows
        while windows:
            oldest = next(iter(windows))
            if now < windows[oldest][0] + self.window_s and len(windows) < self.max_sources:
                return
            del windows[oldest]


class Refusals:
    """The one place a refusal is recorded: the window tally, the metrics and the per-source limit."""

    def __init__(self, auditor: Auditor, limiter: SourceLimiter, metrics: GatewayMetrics,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._auditor = auditor
        self._limiter = limiter
        self._metrics = metrics
        self._clock = clock

    def record(self, actor: Actor, action: str, reason: str, *, resource: str,
               remote_addr: str | None) -> TooManyRefusals | None:
        """Count one refusal; a TooManyRefusals (429) to answer instead when its source is over its budget."""
        retry_after = self._limiter.charge(remote_addr or "", self._clock())
        limited = retry_after is not None
        self._auditor.tally(actor, action, outcome=DENIED, reason=reason, resource=resource,
                            remote_addr=remote_addr, limited=limited)
        self._metrics.refusals(reason).inc()
        if retry_after is None:
            return None
        self._metrics.refusals_limited.inc()
        return TooManyRefusals("too many refused requests from this address", retry_after_s=math.ceil(retry_after))
