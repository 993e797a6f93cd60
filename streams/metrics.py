"""Prometheus metrics of the stream worker. Labels are agent names, outcomes, reasons, channels,
providers, channel instance ids and topics: never a pseudonym, a number or text."""
from __future__ import annotations

import logging
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

log = logging.getLogger("carelay.streams.metrics")
CIRCUIT_VALUES = {"closed": 0, "half_open": 1, "open": 2}
# accept -> delivered: seconds to minutes normally, hours for a send that waited out quiet hours
DELIVERY_BUCKETS = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 4 * 3600.0, 24 * 3600.0)


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        r = self.registry = registry or CollectorRegistry()
        self.events = Counter("carelay_streams_events", "events processed", ["agent"], registry=r)
        self.decisions = Counter("carelay_streams_decisions", "decisions by outcome", ["agent", "outcome"],
                                 registry=r)
        # channel_instance, not instance: Prometheus gives every scraped series its target's `instance`
        self.circuit = Gauge("carelay_streams_circuit_state", "circuit state: 0 closed, 1 half-open, 2 open",
                             ["channel_instance"], registry=r)
        self.retries = Counter("carelay_streams_retries", "provider calls parked for a retry", ["channel", "kind"],
                               registry=r)
        self.dead_letters = Counter("carelay_streams_dead_letters", "records sent to the dead-letter topic",
                                    ["reason"], registry=r)
        self.provider_calls = Counter("carelay_streams_provider_calls", "provider send calls by result",
                                      ["provider", "result"], registry=r)
        self.call_seconds = Histogram("carelay_streams_provider_call_seconds", "provider send latency",
                                      ["provider"], registry=r)
        self.batch_size = Histogram("carelay_streams_batch_size", "events per batch", ["agent"],
                                    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000), registry=r)
        self.lag = Gauge("carelay_streams_consumer_lag", "high watermark minus committed offset",
                         ["topic", "partition"], registry=r)
        self.delayed = Gauge("carelay_streams_delayed_records", "records held by delay forwarders", ["topic"],
                             registry=r)
        self.alerts = Counter("carelay_streams_alerts", "loop guard alerts (conversation paused)", ["reason"],
                              registry=r)
        self.outcomes = Counter("carelay_streams_delivery_outcomes", "delivery outcomes (status changes) by "
                                "channel, provider and status", ["channel", "provider", "status"], registry=r)
        self.ended = Counter("carelay_streams_messages_ended", "messages that reached a final status, by the "
                             "channel and provider of their last hop: delivered (or read), or the failure status",
                             ["channel", "provider", "result"], registry=r)
        self.delivered_seconds = Histogram("carelay_streams_accept_to_delivered_seconds",
                                           "time from a send's acceptance to its first delivery", ["channel"],
                                           buckets=DELIVERY_BUCKETS, registry=r)
        self._children: dict[tuple[object, ...], Any] = {}

    def outcome(self, channel: str, provider: str | None, status: str, *, final: bool, reached: bool,
                accepted_at_ms: int, at_ms: int) -> None:
        """One DeliveryOutcome: counted; a final one ends the message; a delivery is timed from acceptance."""
        provider = provider or "none"
        self.child(self.outcomes, channel, provider, status).inc()
        if final:
            self.child(self.ended, channel, provider, "delivered" if reached else status).inc()
        if status == "delivered" and accepted_at_ms:
            self.child(self.delivered_seconds, channel).observe(max(0.0, (at_ms - accepted_at_ms) / 1000))

    def child(self, metric: Any, *labels: str) -> Any:
        """`metric.labels(*labels)`, looked up once: prometheus_client validates, converts and locks
        on every `labels()` call, several times per event on the hot path."""
        key = (id(metric), *labels)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(*labels)
        return found

    def decide(self, agent: str, outcome: str) -> None:
        self.child(self.decisions, agent, outcome).inc()

    def serve(self, port: int) -> bool:
        """Expose /metrics on `port` (0: not at all). A second worker on one host finds the port taken
        and runs without it rather than failing (give each worker its own port)."""
        if not port:
            return False
        try:
            start_http_server(port, addr="0.0.0.0", registry=self.registry)  # noqa: S104 - scraped from outside
        except OSError as exc:
            log.warning("metrics port %d unavailable (%s): this worker exports no metrics", port, exc.strerror)
            return False
        return True
