"""Prometheus metrics of one gateway process, and the ASGI middleware that times every request.

Labels are route templates ("/v1/messages/{message_id}"), methods, status codes, providers and topic
base names: never a raw path, a number or any other value a caller chose (no PHI, bounded
cardinality). Addresses and staff accounts appear only as one of `BUCKETS` buckets of their hash
(`bucket()`): enough to tell one noisy source from many, never the value itself.

Each app owns its CollectorRegistry, so tests can build several apps in one process. With
`uvicorn --workers N`, set `PROMETHEUS_MULTIPROC_DIR` to an empty directory before the workers start
(`make run` does): prometheus_client then keeps every worker's values in files there, and /metrics,
whichever worker answers, is their sum, so counters never go backwards between scrapes. Without it
each worker answers with its own numbers.

Every request touches several labelled metrics; `Labelled` keeps their children, because
prometheus_client's `.labels()` validates, joins and locks on every call.
"""
from __future__ import annotations

import os
import time
import zlib
from collections import OrderedDict
from collections.abc import Iterable
from typing import Generic, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# 2.0 is the webhook response-time objective's bound (docs/monitoring.md): its bucket is what the alert counts
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0,
                   2.0, 2.5, 5.0, 10.0)
UNMATCHED = "unmatched"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
BUCKETS = 64
PHI_VIEW_WINDOW_S = 3600.0  # a (account, patient) pair counts once per window in phi_patients
PHI_VIEW_MEMORY = 50_000  # pairs remembered at once; the oldest go first beyond it


def bucket(value: str, buckets: int = BUCKETS) -> str:
    """One of `buckets` labels for an address or an account: bounded cardinality, the value not shown.
    Stable across processes and restarts (crc32), so every worker counts one source in the same bucket."""
    return str(zlib.crc32(value.encode("utf-8", "replace")) % buckets)


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


class FirstSeen:
    """Whether a key is new within the last `window_s` seconds; bounded memory, time passed in (pure)."""

    def __init__(self, window_s: float = PHI_VIEW_WINDOW_S, capacity: int = PHI_VIEW_MEMORY) -> None:
        self.window_s = window_s
        self.capacity = capacity
        self._seen: OrderedDict[tuple[str, ...], float] = OrderedDict()  # key -> first seen, oldest first

    def first(self, key: tuple[str, ...], now: float) -> bool:
        seen = self._seen
        while seen:
            oldest, at = next(iter(seen.items()))
            if now < at + self.window_s and len(seen) < self.capacity:
                break
            del seen[oldest]
        if key in seen:
            return False
        seen[key] = now
        return True

M = TypeVar("M", Counter, Histogram)


class Labelled(Generic[M]):
    """A labelled metric whose children are looked up once per label tuple (the values are bounded)."""

    def __init__(self, metric: M) -> None:
        self.metric: M = metric
        self._children: dict[tuple[str, ...], M] = {}

    def __call__(self, *values: str) -> M:
        child = self._children.get(values)
        if child is None:
            child = self._children[values] = self.metric.labels(*values)
        return child


class GatewayMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Labelled(Counter("carelay_gateway_requests", "HTTP requests by route template and outcome",
                                         ["route", "method", "status"], registry=r))
        self.latency = Labelled(Histogram("carelay_gateway_request_seconds", "HTTP request latency",
                                          ["route", "method"], buckets=LATENCY_BUCKETS, registry=r))
        # read at scrape time: a plain int costs no lock per request, as Gauge.inc/dec would; several
        # processes write a shared gauge instead (a function's value lives in one process only)
        self.in_flight = 0
        self.in_flight_shared: Gauge | None = None
        if multiprocess_dir():
            self.in_flight_shared = Gauge("carelay_gateway_in_flight_requests", "HTTP requests being served",
                                          registry=r, multiprocess_mode="livesum")
        else:
            Gauge("carelay_gateway_in_flight_requests", "HTTP requests being served",
                  registry=r).set_function(lambda: self.in_flight)
        self.publish_latency = Labelled(Histogram("carelay_gateway_publish_seconds",
                                                  "time from produce to the broker's ack (or the timeout)",
                                                  ["topic", "outcome"], buckets=LATENCY_BUCKETS, registry=r))
        self.signature_failures = Labelled(Counter("carelay_gateway_webhook_signature_failures",
                                                   "webhooks refused for a missing or bad signature", ["provider"],
                                                   registry=r))
        self.webhook_items = Labelled(Counter("carelay_gateway_webhook_items", "WebhookEnvelopes published",
                                              ["provider", "kind"], registry=r))
        # accepted, replayed, conflict, rejected, unavailable
        self.sends = Labelled(Counter("carelay_gateway_sends", "send requests by result", ["result"], registry=r))
        self.audit_lost = Counter("carelay_gateway_audit_records_lost",
                                  "audit records nobody waited for that Kafka did not take", registry=r)
        # every refusal by reason (unauthenticated, forbidden, bad_signature, bad_verify_token), and those
        # answered 429 instead because their source address was over CARELAY_GATEWAY_REFUSALS_PER_MINUTE
        self.refusals = Labelled(Counter("carelay_gateway_refusals", "refused requests by reason", ["reason"],
                                         registry=r))
        self.refusals_limited = Counter("carelay_gateway_refusals_rate_limited",
                                        "refusals answered 429: their source was over its budget", registry=r)
        self.producer_renewals = Counter("carelay_gateway_producer_renewals",
                                         "Kafka producers replaced after a fatal error", registry=r)
        self.unseen_accepts = Counter("carelay_gateway_unseen_accepts",
                                      "accepted sends with no state from the stream workers after "
                                      "CARELAY_GATEWAY_UNSEEN_AFTER_S (gateway/unseen.py)", registry=r)
        # breach detection: one source address (a hash bucket of it) refused again and again
        self.refusals_by_source = Labelled(Counter(
            "carelay_gateway_refusals_by_source", "refused requests by reason and source-address bucket",
            ["reason", "source_bucket"], registry=r))
        self.signin_failures = Labelled(Counter(
            "carelay_console_signin_failures", "console sign-ins refused, by reason and source-address bucket",
            ["reason", "source_bucket"], registry=r))
        self.phi_views = Labelled(Counter("carelay_console_phi_views", "console pages that opened a patient's PHI",
                                          ["account_bucket"], registry=r))
        self.phi_patients = Labelled(Counter(
            "carelay_console_phi_patients_viewed", "distinct patients whose PHI an account opened, each counted "
            "once per hour", ["account_bucket"], registry=r))
        self._phi_seen = FirstSeen()
        self.alert_notices = Labelled(Counter("carelay_gateway_alert_notices", "Alertmanager alerts turned into "
                                              "staff notices, by status", ["status"], registry=r))

    def refused(self, reason: str, remote_addr: str | None) -> None:
        self.refusals(reason).inc()
        self.refusals_by_source(reason, bucket(remote_addr or "")).inc()

    def signin_failed(self, reason: str, remote_addr: str | None) -> None:
        self.signin_failures(reason, bucket(remote_addr or "")).inc()

    def phi_viewed(self, organization_id: str, account: str, recipient_id: str, now: float | None = None) -> None:
        who = bucket(f"{organization_id}|{account}")
        self.phi_views(who).inc()
        if self._phi_seen.first((organization_id, account, recipient_id), time.monotonic() if now is None else now):
            self.phi_patients(who).inc()

    def observe_publish(self, topic: str, seconds: float, ok: bool) -> None:
        self.publish_latency(topic or "other", "acked" if ok else "failed").observe(seconds)

    def exposition(self) -> bytes:
        """Every process's values when several share PROMETHEUS_MULTIPROC_DIR, else this process's. The
        shared files hold only metrics some process has written; the others are still declared (HELP and
        TYPE without samples), as a single process's registry does, so dashboards and rules can be checked."""
        path = multiprocess_dir()
        if path is None:
            return generate_latest(self.registry)
        merged = CollectorRegistry()
        MultiProcessCollector(merged, path=path)
        written = {family.name for family in merged.collect()}
        declared = [Metric(f.name, f.documentation, f.type) for f in self.registry.collect() if f.name not in written]
        merged.register(_Declared(declared))
        return generate_latest(merged)

    async def endpoint(self, request: Request) -> Response:
        return Response(self.exposition(), media_type=CONTENT_TYPE_LATEST)


class _Declared(Collector):
    def __init__(self, families: list[Metric]) -> None:
        self._families = families

    def collect(self) -> Iterable[Metric]:
        return self._families


class MetricsMiddleware:
    """Counts and times every HTTP request under its route template (Starlette sets scope["route"])."""

    def __init__(self, app: ASGIApp, metrics: GatewayMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        start = time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        m = self.metrics
        shared = m.in_flight_shared
        m.in_flight += 1
        if shared is not None:
            shared.inc()
        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            m.in_flight -= 1
            if shared is not None:
                shared.dec()
            route = scope.get("route")
            template = getattr(route, "path", None) or UNMATCHED
            method = scope["method"] if scope["method"] in _METHODS else "OTHER"
            m.requests(template, method, str(status)).inc()
            m.latency(template, method).observe(time.perf_counter() - start)


_METHODS = frozenset({"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"})
