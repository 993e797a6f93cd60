"""`python -m analytics.sink`: the one process that owns the analytics store, wired from settings.

It migrates the schema, consumes the pipeline's topics into ClickHouse on the main thread, and serves
analysts over HTTP (CARELAY_ANALYTICS_PORT) on a second thread from the same process, because the
embedded engine's data directory can be open in one process only.
"""
from __future__ import annotations

import argparse
import logging
import signal
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from types import FrameType
from typing import Any, TypeVar

import uvicorn
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient

from access.keys import KeyStore
from analytics.access import AccessPolicy
from analytics.chhttp import EngineFront
from analytics.exceptions import StoreUnavailable
from analytics.http import Access, create_app
from analytics.ingest import SOURCE_TOPICS, DeadLetters, Sink, SinkStats
from analytics.lag import LagWatch
from analytics.metrics import AnalyticsMetrics
from analytics.migrations import migrate
from analytics.store import QueryLimits, Store, open_client, open_readers
from process import heap
from schemas.registry import RegistryError, registry_from_url
from schemas.settings import AnalyticsSettings, Settings
from schemas.topics import TOPICS, BoundTopic, Catalog, ensure_topics

log = logging.getLogger("analytics")
T = TypeVar("T")


def consumer_config(settings: Settings, cfg: AnalyticsSettings) -> dict[str, Any]:
    return {
        "bootstrap.servers": settings.kafka.bootstrap,
        "group.id": cfg.group_id,
        # Static membership: a restarted owner takes its partitions back at once instead of waiting
        # for the dead member's session to expire; a second process with the same id is fenced.
        "group.instance.id": f"{cfg.group_id}-owner",
        "enable.auto.commit": False,  # commits follow successful inserts only (sink.py)
        "auto.offset.reset": "earliest",
        # Fewer, fuller fetches: with the default (1 byte) the broker answers as soon as any partition has a
        # record, and under a steady trickle librdkafka's broker thread spent a third of the sink's CPU on
        # tiny fetch responses. Waiting up to half a second is well inside a batch's interval.
        "fetch.min.bytes": 1_000_000,
        "fetch.wait.max.ms": 500,
    }


def _retry(what: str, fn: Callable[[], T], stop: threading.Event, cfg: AnalyticsSettings) -> T | None:
    delay = cfg.retry_initial_s
    while not stop.is_set():
        try:
            return fn()
        except (StoreUnavailable, RegistryError) as exc:
            log.warning("%s failed, retrying in %.1fs: %s", what, delay, exc)
            stop.wait(delay)
            delay = min(cfg.retry_max_s, delay * 2)
    return None


class AuditOut:
    """Analysts' requests as AuditRecords on the audit topic, which this same sink stores in audit_log."""

    def __init__(self, producer: Producer, topic: BoundTopic) -> None:
        self._producer = producer
        self._topic = topic

    def __call__(self, access: Access) -> None:
        record = {
            "audit_id": str(uuid.uuid4()), "occurred_at": int(time.time() * 1000), "actor": access.actor,
            "role": access.role or None, "organization_id": access.organization_id or None,
            "action": access.action, "resource": None, "outcome": access.outcome,
            "reason": access.reason or None, "remote_addr": access.remote_addr or None, "details": {},
        }
        key = (access.organization_id or access.actor).encode()
        self._producer.produce(self._topic.name, key=key, value=self._topic.codec.encode(record))
        self._producer.poll(0)


def _health(store: Store, stats: SinkStats) -> Callable[[], dict[str, Any]]:
    def health() -> dict[str, Any]:
        reachable = store.ping()
        snap = stats.snapshot()
        status = "ok" if reachable and not snap["paused"] else "degraded"
        return {"status": status, "backend": store.backend, "store_reachable": reachable} | snap
    return health


def _serve(app: Any, cfg: AnalyticsSettings) -> tuple[uvicorn.Server, threading.Thread]:
    server = uvicorn.Server(uvicorn.Config(app, host=cfg.host, port=cfg.port, log_level="warning",
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, name="analytics-http", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    if not server.started:
        raise SystemExit(f"analytics: could not listen on {cfg.host}:{cfg.port}")
    return server, thread


def main(argv: Sequence[str] | None = None, environ: dict[str, str] | None = None) -> int:
    argparse.ArgumentParser(
        prog="python -m analytics.sink",
        description="The analytics owner: migrates the ClickHouse schema, consumes the topics into it and "
                    "serves POST /v1/sql and GET /v1/report until SIGTERM/SIGINT. Settings from CARELAY_* "
                    "variables (README: Settings).",
    ).parse_args(argv)
    settings = Settings.from_env(environ)
    cfg = settings.analytics
    keys = KeyStore.from_settings(settings.gateway.api_keys_file, settings.env,  # fail fast on a bad file
                                  demo_keys=settings.gateway.demo_api_keys)
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stop = threading.Event()
    sink_box: list[Sink] = []

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()
        for sink in sink_box:
            sink.stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    def open_and_migrate() -> Store:
        store = open_client(settings.clickhouse)
        migrate(store, settings.clickhouse)
        return store

    store = _retry("opening and migrating the analytics store", open_and_migrate, stop, cfg)
    if store is None:
        return 0
    limits = QueryLimits(cfg.query_timeout_s, cfg.max_result_rows)
    readers = open_readers(settings.clickhouse, limits)
    # ClickHouse's HTTP interface for analysts' tools, over the embedded store (a server is its own)
    engine = None if settings.clickhouse.url else EngineFront(settings.clickhouse.path, limits)
    registry = registry_from_url(settings.kafka.schema_registry_url)
    catalog = _retry("registering schemas", lambda: Catalog(settings.kafka.topic_prefix, registry), stop, cfg)
    if catalog is None:
        return 0
    ensure_topics(AdminClient({"bootstrap.servers": settings.kafka.bootstrap}), settings.kafka.topic_prefix,
                  settings.kafka.partitions, settings.kafka.replication_factor,
                  topics=[getattr(TOPICS, attr) for attr in SOURCE_TOPICS])
    producer = Producer({"bootstrap.servers": settings.kafka.bootstrap, "enable.idempotence": True,
                         "linger.ms": settings.kafka.linger_ms})
    stats = SinkStats()
    sink = Sink(lambda: Consumer(consumer_config(settings, cfg)), store, catalog,
                DeadLetters(producer, catalog.dead_letter), cfg, stats)
    sink_box.append(sink)
    if stop.is_set():
        sink.stop()
    policy = AccessPolicy(keys, cfg.sql_orgs)
    # the stream workers' group (streams/config.py names it the same way) and the sink's own
    lag = LagWatch(settings.kafka.bootstrap, [settings.streams.app_id or f"{settings.kafka.topic_prefix}streams",
                                              cfg.group_id], topic_prefix=settings.kafka.topic_prefix)
    lag.start()
    app = create_app(readers, policy, _health(readers.report, stats), AuditOut(producer, catalog.audit),
                     AnalyticsMetrics(stats.snapshot, [lag]), engine)
    server, thread = _serve(app, cfg)
    log.info("analytics ready: store=%s http=%s:%d topics=%d", store.backend, cfg.host, cfg.port,
             len(SOURCE_TOPICS))
    heap.settle()
    try:
        sink.run()
    finally:
        server.should_exit = True
        thread.join(timeout=5)
        lag.stop()
        producer.flush(5)
        readers.close()
        if engine is not None:
            engine.close()
        store.close()
    log.info("analytics stopped: %s", stats.snapshot())
    return 0


if __name__ == "__main__":  # `python -m analytics.service` works as well as `python -m analytics.sink`
    raise SystemExit(main())
