"""Kafka plumbing of the webhook process: the endpoint directory, acknowledged produce, commit tracking."""
from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from typing import Any

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

from schemas.phi import Binding, PhiCipher
from schemas.topics import BoundTopic
from streams import convert
from streams.decide.webhooks import Endpoint

log = logging.getLogger("carelay.webhooks")


class Directory:
    """Every endpoint of every organization, read from the compacted topic from its beginning by a
    thread (no group: each process knows all of them), with its signing secret opened."""

    def __init__(self, bootstrap: str, topic: BoundTopic, cipher: PhiCipher) -> None:
        self.topic, self.cipher = topic, cipher
        self.endpoints: dict[str, tuple[Endpoint, str]] = {}
        self.loaded = threading.Event()
        self._stop = threading.Event()
        self._consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"carelay-webhooks-{uuid.uuid4().hex}",
                                   "enable.auto.commit": False, "auto.offset.reset": "earliest"})
        self._thread = threading.Thread(target=self._run, name="webhook-directory", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def all(self) -> list[Endpoint]:
        return [e for e, _ in self.endpoints.values()]

    def secret(self, endpoint_id: str) -> str | None:
        found = self.endpoints.get(endpoint_id)
        return found[1] if found else None

    def _run(self) -> None:
        c = self._consumer
        meta = c.list_topics(self.topic.name, timeout=10).topics[self.topic.name]
        parts = [TopicPartition(self.topic.name, p, 0) for p in meta.partitions]
        targets = {}
        for tp in parts:
            _low, high = c.get_watermark_offsets(tp, timeout=10)
            if high > 0:
                targets[tp.partition] = high
        c.assign(parts)
        if not targets:
            self.loaded.set()
        while not self._stop.is_set():
            for msg in c.consume(100, 0.2):
                if msg.error():
                    continue
                self._take(msg.key(), msg.value())
                part, offset = msg.partition() or 0, msg.offset() or 0
                if part in targets and offset + 1 >= targets[part]:
                    del targets[part]
                    if not targets:
                        self.loaded.set()
        c.close()

    def _take(self, key: bytes | None, value: bytes | None) -> None:
        endpoint_id = (key or b"").decode().partition("|")[2]
        if value is None:
            self.endpoints.pop(endpoint_id, None)
            return
        try:
            rec = self.topic.codec.decode(value)
            secret = self.cipher.open("webhook_secret", rec["secret"],
                                      Binding(rec["organization_id"], rec["endpoint_id"]))
        except Exception as exc:  # a record we cannot read names no endpoint we could sign for
            log.warning("webhook endpoint record skipped (%s)", type(exc).__name__)
            return
        self.endpoints[rec["endpoint_id"]] = (endpoint_of(rec), secret)


def endpoint_of(rec: dict[str, Any]) -> Endpoint:
    return Endpoint(rec["endpoint_id"], rec["organization_id"], rec["url"], frozenset(rec["event_types"]),
                    rec.get("status_changes") or "final", bool(rec.get("include_phi")),
                    convert.ms(rec["created_at"]) or 0)


class Sender:
    """A producer whose `send` returns once the broker acknowledged (idempotent, acks=all)."""

    def __init__(self, bootstrap: str) -> None:
        self.producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 2})
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, name="webhook-producer", daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.is_set():
            self.producer.poll(0.05)

    async def send(self, records: list[tuple[str, bytes | None, bytes]]) -> None:
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[None]] = []
        for topic, key, value in records:
            fut: asyncio.Future[None] = loop.create_future()

            def done(err: KafkaError | None, _msg: Any, fut: asyncio.Future[None] = fut) -> None:
                def settle() -> None:
                    if fut.done():
                        return
                    if err is None:
                        fut.set_result(None)
                    else:
                        fut.set_exception(RuntimeError(f"produce failed: {err.str()}"))
                loop.call_soon_threadsafe(settle)

            self.producer.produce(topic, value, key, on_delivery=done)
            futures.append(fut)
        await asyncio.gather(*futures)

    def close(self) -> None:
        self.producer.flush(10)
        self._stop.set()
        self._thread.join(2)


class Offsets:
    """Which offsets of each partition may be committed: everything below the oldest still in hand."""

    def __init__(self) -> None:
        self.pending: dict[int, set[int]] = {}
        self.highest: dict[int, int] = {}

    def took(self, partition: int, offset: int) -> None:
        self.pending.setdefault(partition, set()).add(offset)
        self.highest[partition] = max(offset, self.highest.get(partition, -1))

    def finished(self, partition: int, offset: int) -> None:
        self.pending.get(partition, set()).discard(offset)

    def committable(self) -> dict[int, int]:
        """The next offset to read, per partition: the oldest pending, or one past the highest taken."""
        return {p: min(self.pending[p]) if self.pending.get(p) else h + 1 for p, h in self.highest.items()}
