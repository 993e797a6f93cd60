"""Providers' error rates over the last hour, per organization, channel and provider, and the consumers'
lag, for the operations page.

Rates: a view of `delivery.outcomes` that reads only the last hour (from offsets found by time) and
counts per minute as records arrive, and the pure figures the page shows. A hop's outcome counts for its
channel and provider: `delivered` is a success, `failed` and `undelivered` are failures (a hop that fell
back included); other statuses (sent, read, blocked, expired, ...) are no verdict on the provider.
Counting is per outcome record: a status the streams report twice counts twice.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from analytics.lag import LagWatch
from gateway.topicview import METADATA_TIMEOUT_S, TopicView

WINDOW_MS = 3_600_000
MINUTE_MS = 60_000
SUCCESS, FAILURES = "delivered", frozenset({"failed", "undelivered"})
LAG_FAMILY = "carelay_kafka_consumer_lag"

Key = tuple[str, str, str]  # organization, channel, provider


@dataclass(frozen=True)
class Rate:
    channel: str
    provider: str
    delivered: int
    failed: int

    @property
    def percent(self) -> float:
        """Failures among the verdicts, as a percentage (0 without any)."""
        total = self.delivered + self.failed
        return 100.0 * self.failed / total if total else 0.0


def verdict(status: str) -> int | None:
    """1 a failure, 0 a success, None no verdict on the provider."""
    return 1 if status in FAILURES else 0 if status == SUCCESS else None


def rates(minutes: Mapping[Key, Mapping[int, tuple[int, int]]], organization_id: str, now_ms: int,
          window_ms: int = WINDOW_MS) -> tuple[Rate, ...]:
    """The organization's rates over the window, worst first; `minutes` (delivered, failed) per minute."""
    since = (now_ms - window_ms) // MINUTE_MS
    out = []
    for (org, channel, provider), per_minute in minutes.items():
        if org != organization_id:
            continue
        ok = bad = 0
        for minute, (d, f) in per_minute.items():
            if minute > since:
                ok, bad = ok + d, bad + f
        if ok or bad:
            out.append(Rate(channel, provider, ok, bad))
    return tuple(sorted(out, key=lambda r: (-r.percent, r.channel, r.provider)))


class OutcomeRateView(TopicView):
    name = "delivery-outcome rate view"

    def __init__(self, bootstrap: str, topic: str, codec: Any, window_ms: int = WINDOW_MS) -> None:
        super().__init__(bootstrap, topic, codec)
        self._window_ms = window_ms
        self._minutes: dict[Key, dict[int, tuple[int, int]]] = {}
        self._lock = threading.Lock()

    def start_positions(self, consumer: Consumer, partitions: list[int]) -> list[TopicPartition]:
        since = int(time.time() * 1000) - self._window_ms
        asked = [TopicPartition(self._topic, p, since) for p in partitions]
        found = consumer.offsets_for_times(asked, timeout=METADATA_TIMEOUT_S * 3)
        for tp in found:
            if tp.offset < 0:  # nothing in the window (-1: the end): nothing to catch up with there
                self._targets.pop(tp.partition, None)
        return list(found)

    def apply(self, key: bytes | None, record: dict[str, Any] | None) -> None:
        if record is None or record.get("provider") is None:
            return
        failed = verdict(str(record["status"]))
        if failed is None:
            return
        at = record["occurred_at"]
        minute = (at if isinstance(at, int) else int(at.timestamp() * 1000)) // MINUTE_MS
        k = (str(record["organization_id"]), str(record["channel"]), str(record["provider"]))
        with self._lock:
            per_minute = self._minutes.setdefault(k, {})
            d, f = per_minute.get(minute, (0, 0))
            per_minute[minute] = (d + (1 - failed), f + failed)
            oldest = minute - self._window_ms // MINUTE_MS - 1
            for m in [m for m in per_minute if m < oldest]:
                del per_minute[m]

    def rates(self, organization_id: str, now_ms: int) -> tuple[Rate, ...]:
        with self._lock:
            held = {k: dict(v) for k, v in self._minutes.items() if k[0] == organization_id}
        return rates(held, organization_id, now_ms, self._window_ms)


@dataclass(frozen=True)
class Lag:
    who: str  # "streams" (the stream workers' agents) or "analytics" (the sink)
    topic: str  # without the topic prefix
    records: int


def lags(figures: Mapping[tuple[str, str], int], groups: Mapping[str, str], prefix: str) -> tuple[Lag, ...]:
    """(group, topic) -> records still to read, as the page shows them: whose, which topic, most behind first."""
    rows = [Lag(groups.get(group, group), topic.removeprefix(prefix), n) for (group, topic), n in figures.items()]
    return tuple(sorted(rows, key=lambda r: (-r.records, r.who, r.topic)))


class LagFigures:
    """The consumer lag of the stream workers' and the analytics sink's groups (analytics.lag.LagWatch, the
    same figures as `carelay_kafka_consumer_lag`), asked of Kafka every 15 s once an operations page has
    been shown on this process, never before."""

    def __init__(self, bootstrap: str, groups: Mapping[str, str], prefix: str) -> None:
        self.groups, self.prefix = dict(groups), prefix  # group id -> "streams" / "analytics"
        self._watch = LagWatch(bootstrap, list(groups))
        self._started = False
        self._lock = threading.Lock()

    def rows(self) -> tuple[Lag, ...]:
        with self._lock:
            if not self._started:
                self._started = True
                self._watch.start()
        figures = {(s.labels["group"], s.labels["topic"]): int(s.value) for family in self._watch.collect()
                   if family.name == LAG_FAMILY for s in family.samples}
        return lags(figures, self.groups, self.prefix)

    def close(self) -> None:
        with self._lock:
            if self._started:
                self._watch.stop()
