"""Prometheus metrics of one gateway process, and the ASGI middleware that times every request.

Labels are route templates ("/v1/messages/{message_id}"), methods, status codes, providers and topic
base names: never a raw path, a number or any other value a caller chose (no PHI, bounded
cardinality). Each app owns its CollectorRegistry, so tests can build several apps in one process.
With `uvicorn --workers N` every worker exposes its own numbers on its own /metrics (scrape each,
or run one worker per container).

Every request touches several labelled metrics; `Labelled` keeps their children, because
prometheus_client's `.labels()` validates, joins and locks on every call.
"""
from __future__ import annotations

import time
from typing import Generic, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0,
                   2.5, 5.0, 10.0)
UNMATCHED = "unmatched"

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
        # read at scrape time: a plain int costs no lock per request, as Gauge.inc/dec would
        self.in_flight = 0
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

    def observe_publish(self, topic: str, seconds: float, ok: bool) -> None:
        self.publish_latency(topic or "other", "acked" if ok else "failed").observe(seconds)

    async def endpoint(self, request: Request) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


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
        m.in_flight += 1
        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            m.in_flight -= 1
            route = scope.get("route")
            template = getattr(route, "path", None) or UNMATCHED
            method = scope["method"] if scope["method"] in _METHODS else "OTHER"
            m.requests(template, method, str(status)).inc()
            m.latency(template, method).observe(time.perf_counter() - start)


_METHODS = frozenset({"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"})
