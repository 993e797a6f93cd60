"""Prometheus metrics of the analytics owner, on its HTTP port's /metrics: the analysts' queries (how
many rows each returned: the breach-detection signal for a bulk export), the sink's counters and the
consumer lag per group and topic (analytics/lag.py).

Labels are endpoint names and outcomes only: never SQL, a key id or an organization.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response

ROW_BUCKETS = (1, 10, 100, 1_000, 10_000, 100_000, 1_000_000)
SECONDS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# SinkStats fields exported as counters (they only grow while the process lives)
SINK_COUNTERS = {
    "consumed": "records consumed from Kafka",
    "rows_inserted": "rows inserted into the store",
    "batches": "batches inserted",
    "dead_letters": "records sent to the dead-letter topic",
    "insert_failures": "inserts that failed (retried)",
    "commit_failures": "offset commits that failed",
    "consumer_reopens": "consumers replaced after a fatal error",
}


class SinkCollector(Collector):
    """The sink's plain-int SinkStats read at scrape time (no lock on the sink's hot path)."""

    def __init__(self, snapshot: Callable[[], dict[str, Any]]) -> None:
        self._snapshot = snapshot

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        snap = self._snapshot()
        for field, doc in SINK_COUNTERS.items():
            yield CounterMetricFamily(f"carelay_analytics_sink_{field}", doc, value=float(snap.get(field, 0)))
        yield GaugeMetricFamily("carelay_analytics_sink_paused", "1 while the sink waits for an unreachable store",
                                value=1.0 if snap.get("paused") else 0.0)


class AnalyticsMetrics:
    def __init__(self, sink_snapshot: Callable[[], dict[str, Any]] | None = None,
                 extra: Iterable[Collector] = ()) -> None:
        r = self.registry = CollectorRegistry(auto_describe=True)
        self.queries = Counter("carelay_analytics_queries", "analysts' requests by endpoint and outcome",
                               ["endpoint", "outcome"], registry=r)
        self.rows = Histogram("carelay_analytics_query_rows", "rows one query returned", ["endpoint"],
                              buckets=ROW_BUCKETS, registry=r)
        self.seconds = Histogram("carelay_analytics_query_seconds", "time to run one query", ["endpoint"],
                                 buckets=SECONDS_BUCKETS, registry=r)
        if sink_snapshot is not None:
            r.register(SinkCollector(sink_snapshot))
        for collector in extra:  # the consumer lag (analytics/lag.py)
            r.register(collector)

    def answered(self, endpoint: str, rows: int, seconds: float) -> None:
        self.rows.labels(endpoint).observe(rows)
        self.seconds.labels(endpoint).observe(seconds)

    async def endpoint(self, request: Request) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)
