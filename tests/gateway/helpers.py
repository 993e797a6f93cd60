"""Shared test helpers: bodies, keys, reading a topic back, signing webhooks."""
from __future__ import annotations

import time
import uuid
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from schemas.codec import AvroCodec

SENDER = {"Authorization": "Bearer demo-clinic-sender-key"}
ADMIN = {"X-API-Key": "demo-clinic-admin-key"}
ANALYST = {"Authorization": "Bearer demo-clinic-analyst-key"}
AUDITOR = {"X-API-Key": "demo-clinic-auditor-key"}
OTHER = {"Authorization": "Bearer other-clinic-sender-key"}
PHONE = "+525512345678"
PARAMS = {"patient_name": "Ana Maria Lopez", "clinic": "Clinica Norte", "date": "1 de mayo", "time": "10:30"}


def send_body(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "to": PHONE,
        "patient_ref": "MRN-0042",
        "recipient_name": "Ana Maria Lopez",
        "template": {"name": "appointment_reminder", "language": "es", "params": dict(PARAMS)},
        "appointment_id": "apt-1",
        "metadata": {"campaign": "reminders"},
    }
    body.update(over)
    return body


def key() -> str:
    return f"k-{uuid.uuid4().hex}"


def read_topic(bootstrap: str, topic: str, codec: AvroCodec, *, count: int, timeout_s: float = 15.0,
               where: Any = None) -> list[tuple[bytes | None, dict[str, Any]]]:
    """Read records from the beginning of every partition until `count` matched `where`."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"t-{uuid.uuid4()}",
                         "enable.auto.commit": False})
    try:
        meta = consumer.list_topics(topic, timeout=10).topics[topic]
        consumer.assign([TopicPartition(topic, p, 0) for p in meta.partitions])
        out: list[tuple[bytes | None, dict[str, Any]]] = []
        end = time.monotonic() + timeout_s
        while len(out) < count and time.monotonic() < end:
            for msg in consumer.consume(100, timeout=0.3):
                if msg.error() is not None or msg.value() is None:
                    continue
                record = codec.decode(msg.value())
                if where is None or where(record):
                    out.append((msg.key(), record))
        return out
    finally:
        consumer.close()


def wait_ready(client: Any, timeout_s: float = 30.0) -> None:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if client.get("/readyz").status_code == 200:
            return
        time.sleep(0.1)
    raise AssertionError(f"gateway not ready: {client.get('/readyz').text}")
