"""Producing a scenario onto the real broker, and running `python -m analytics.sink` as a child process."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from analytics.ingest import SOURCE_TOPICS
from analytics.rows import Source, to_rows
from schemas.registry import ConfluentRegistry
from schemas.topics import Catalog, ensure_topics
from stack.javaproc import free_port

REPO = Path(__file__).resolve().parents[2]
PARTITIONS = 3
# which catalog topic carries each value type
TOPIC_OF = {
    "SendRequest": "send_requests", "DispatchCommand": "dispatch", "ProviderStatus": "provider_status",
    "InboundMessage": "inbound", "ConsentChange": "consent", "DeliveryOutcome": "outcomes",
    "MessageState": "message_state", "AuditRecord": "audit", "CircuitEvent": "circuit", "DeadLetter": "dead_letter",
    "CareEvent": "appointment_events",
}


def topic_attr(value_type: str, record: dict[str, Any] | None = None) -> str:
    """Two topics carry CareEvents: staff alerts go to staff.notifications, answers to appointment.events."""
    if value_type == "CareEvent" and record is not None and record["type"] == "staff.attention_needed":
        return "staff_notifications"
    return TOPIC_OF[value_type]


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.5) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")


@dataclass
class Stack:
    bootstrap: str
    registry_url: str
    prefix: str = field(default_factory=lambda: f"a{uuid.uuid4().hex[:8]}.")
    group: str = field(default_factory=lambda: f"analytics-{uuid.uuid4().hex[:8]}")

    registry: ConfluentRegistry | None = None  # share one client: each holds a connection pool

    def __post_init__(self) -> None:
        ensure_topics(AdminClient({"bootstrap.servers": self.bootstrap}), self.prefix, PARTITIONS, 1)
        if self.registry is None:
            self.registry = ConfluentRegistry(self.registry_url)
        self.catalog = Catalog(self.prefix, self.registry)

    def fresh(self) -> Stack:
        """Other topics and another consumer group on the same broker and registry client."""
        return Stack(self.bootstrap, self.registry_url, registry=self.registry)

    def close(self) -> None:
        if self.registry is not None:
            self.registry._client.close()

    def topic(self, value_type: str) -> str:
        return str(getattr(self.catalog, TOPIC_OF[value_type]).name)

    def produce(self, records: Iterable[tuple[str, dict[str, Any]]], *, raw: Iterable[tuple[str, bytes]] = ()) -> int:
        producer = Producer({"bootstrap.servers": self.bootstrap, "linger.ms": 5, "enable.idempotence": True})
        count = 0
        for value_type, record in records:
            bound = getattr(self.catalog, topic_attr(value_type, record))
            key = str(record.get("recipient_id") or record.get("organization_id") or value_type).encode()
            producer.produce(bound.name, key=key, value=bound.codec.encode(record))
            count += 1
            if count % 5000 == 0:
                producer.flush(30)
        for topic, value in raw:
            producer.produce(topic, key=b"garbage", value=value)
            count += 1
        assert producer.flush(30) == 0
        return count

    def end_offsets(self) -> dict[tuple[str, int], int]:
        consumer = Consumer({"bootstrap.servers": self.bootstrap, "group.id": f"probe-{uuid.uuid4()}"})
        try:
            out = {}
            for attr in SOURCE_TOPICS:
                name = getattr(self.catalog, attr).name
                for p in range(PARTITIONS):
                    _, high = consumer.get_watermark_offsets(TopicPartition(name, p), timeout=10)
                    if high:
                        out[(name, p)] = high
            return out
        finally:
            consumer.close()

    def committed(self) -> dict[tuple[str, int], int]:
        consumer = Consumer({"bootstrap.servers": self.bootstrap, "group.id": self.group})
        try:
            parts = [TopicPartition(getattr(self.catalog, a).name, p) for a in SOURCE_TOPICS for p in range(PARTITIONS)]
            return {(tp.topic, tp.partition): tp.offset for tp in consumer.committed(parts, timeout=10)
                    if tp.offset >= 0}
        finally:
            consumer.close()


def expected_event_keys(records: Iterable[tuple[str, dict[str, Any]]]) -> int:
    """Distinct (event type, event id) the events table must end up with for these records."""
    keys = set()
    for value_type, record in records:
        for row in to_rows(value_type, record, Source("t", 0, 0)):
            if row.table == "events":
                keys.add((row.values[1], row.values[0]))
    return len(keys)


class SinkProcess:
    """`python -m <module>` with the stack's settings; its log goes to a file the test can show."""

    def __init__(self, stack: Stack, store_path: Path, log_path: Path, **extra: str) -> None:
        self.port = free_port()
        self.log_path = log_path
        self.env = os.environ | {
            "CARELAY_KAFKA_BOOTSTRAP": stack.bootstrap, "CARELAY_SCHEMA_REGISTRY_URL": stack.registry_url,
            "CARELAY_TOPIC_PREFIX": stack.prefix, "CARELAY_KAFKA_PARTITIONS": str(PARTITIONS),
            "CARELAY_CLICKHOUSE_PATH": str(store_path), "CARELAY_DATA_DIR": str(store_path.parent / "var"),
            "CARELAY_ANALYTICS_PORT": str(self.port), "CARELAY_ANALYTICS_GROUP_ID": stack.group,
            "CARELAY_ANALYTICS_BATCH_INTERVAL_S": "0.3", "CARELAY_ANALYTICS_RETRY_INITIAL_S": "0.1",
            "CARELAY_ANALYTICS_QUERY_TIMEOUT_S": "30", "CARELAY_ANALYTICS_MAX_RESULT_ROWS": "100000",
            "CARELAY_LOG_LEVEL": "INFO", "CARELAY_DEMO_API_KEYS": "true",
            "CARELAY_ANALYTICS_SQL_ORGS": "demo-clinic",  # the operator: the figures are read over /v1/sql
        } | extra
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, module: str = "analytics.sink") -> SinkProcess:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", module], cwd=REPO, env=self.env,
                                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def health(self) -> dict[str, Any] | None:
        try:
            return dict(httpx.get(f"{self.url}/v1/health", timeout=2).json())
        except (httpx.HTTPError, ValueError):
            return None

    def wait_healthy(self, timeout: float = 90) -> dict[str, Any]:
        def up() -> dict[str, Any] | None:
            assert self.proc is not None and self.proc.poll() is None, f"sink exited:\n{self.log()[-4000:]}"
            return self.health()
        return dict(wait_for(up, timeout, "the sink's health endpoint"))

    def wait_exit(self, timeout: float = 60) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)

    def terminate(self, timeout: float = 30) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise
