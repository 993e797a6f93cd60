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

import asyncio
import logging
import math
import time
from collections.abc import Callable

from gateway.audit import DENIED, Actor, Auditor
from gateway.errors import TooManyRefusals
from gateway.metrics import GatewayMetrics

WINDOW_S = 60.0
MAX_SOURCES = 100_000  # addresses remembered at once; the oldest windows go first beyond it
LOG_WINDOW_S = 10.0
LOG_BURST = 5  # refusals of one kind logged one by one per log window; the rest as one count
LOG_LINES = 20  # refusals logged one by one per log window, all kinds together

log = logging.getLogger(__name__)

LogKey = tuple[str, str, str]  # route template, reason, actor (a provider, a key id or "anonymous")


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


class LogBudget:
    """Which refusals are logged one by one: per window of `window_s`, the first `burst` of each kind
    (route, reason, actor) and `lines` in all; the others are counted and reported once, per kind, when
    the window ends (`take`). A flood then costs a handful of lines per window, not one per request.
    Pure: time is passed in."""

    def __init__(self, burst: int = LOG_BURST, lines: int = LOG_LINES, window_s: float = LOG_WINDOW_S) -> None:
        self.burst = burst
        self.lines = lines
        self.window_s = window_s
        self.started: float | None = None
        self._logged: dict[LogKey, int] = {}
        self._held: dict[LogKey, int] = {}  # counted, not logged
        self._lines = 0

    def admit(self, kind: LogKey, now: float) -> bool:
        """True: log this refusal now. False: it is counted for the window's summary."""
        if self.started is None or now >= self.started + self.window_s:
            self.started, self._logged, self._lines = now, {}, 0
        logged = self._logged.get(kind, 0)
        if logged < self.burst and self._lines < self.lines:
            self._logged[kind] = logged + 1
            self._lines += 1
            return True
        self._held[kind] = self._held.get(kind, 0) + 1
        return False

    def take(self) -> dict[LogKey, int]:
        """The refusals counted and not logged since the last call, by kind."""
        held, self._held = self._held, {}
        return held


class Refusals:
    """The one place a refusal is recorded: the window tally, the metrics and the per-source limit."""

    def __init__(self, auditor: Auditor, limiter: SourceLimiter, metrics: GatewayMetrics,
                 clock: Callable[[], float] = time.monotonic, budget: LogBudget | None = None) -> None:
        self._auditor = auditor
        self._limiter = limiter
        self._metrics = metrics
        self._clock = clock
        self._budget = budget or LogBudget()
        self._summary_handle: asyncio.TimerHandle | None = None

    def record(self, actor: Actor, action: str, reason: str, *, resource: str,
               remote_addr: str | None) -> TooManyRefusals | None:
        """Count one refusal; a TooManyRefusals (429) to answer instead when its source is over its budget."""
        now = self._clock()
        retry_after = self._limiter.charge(remote_addr or "", now)
        limited = retry_after is not None
        self._auditor.tally(actor, action, outcome=DENIED, reason=reason, resource=resource,
                            remote_addr=remote_addr, limited=limited)
        self._metrics.refused(reason, remote_addr)
        self._log(actor, resource, reason, remote_addr, limited, now)
        if retry_after is None:
            return None
        self._metrics.refusals_limited.inc()
        return TooManyRefusals("too many refused requests from this address", retry_after_s=math.ceil(retry_after))

    def _log(self, actor: Actor, resource: str, reason: str, remote_addr: str | None, limited: bool,
             now: float) -> None:
        # the route template, the reason and who: never the body, the query or a header's value
        if self._budget.admit((resource, reason, actor.name), now):
            log.info("refused %s: %s (%s, from %s)%s", resource, reason, actor.name, remote_addr or "unknown",
                     ", answered 429: too many refusals from this address" if limited else "")
        elif self._summary_handle is None:
            started = self._budget.started or now
            delay = max(0.0, started + self._budget.window_s - now)
            self._summary_handle = asyncio.get_running_loop().call_later(delay, self.flush_log)

    def flush_log(self) -> None:
        """One line per kind of refusal counted but not logged in the window; also at shutdown."""
        if self._summary_handle is not None:
            self._summary_handle.cancel()
            self._summary_handle = None
        for (resource, reason, actor), count in sorted(self._budget.take().items()):
            log.info("refused %s: %s (%s) %d more times in the last %g s, not logged one by one",
                     resource, reason, actor, count, self._budget.window_s)
