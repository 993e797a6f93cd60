"""A topic read into process memory by a background thread: the base of the gateway's read views.

No consumer group: each process assigns itself all partitions from the beginning, so every worker
answers for any key without asking another; nothing is ever committed. A subclass says what one
record does to its in-memory view (`apply`); this class owns the thread, the start-up retry while
Kafka is down, and `loaded` (caught up with the topic's end as of start-up). A view that reads few of
the records it holds overrides `take` to keep the raw bytes and decode on demand (gateway.state).
"""
from __future__ import annotations

import logging
import threading
import uuid
from typing import Any

from confluent_kafka import Consumer, KafkaException, TopicPartition

from schemas.codec import AvroCodec
from schemas.errors import ContractError
from schemas.registry import RegistryError

log = logging.getLogger(__name__)

POLL_TIMEOUT_S = 0.2
RETRY_S = 0.25
METADATA_TIMEOUT_S = 1.0


class TopicView:
    name = "topic view"

    def __init__(self, bootstrap: str, topic: str, codec: AvroCodec) -> None:
        self._topic = topic
        self._codec = codec
        self._config = {
            "bootstrap.servers": bootstrap,
            # librdkafka wants a group id even for manual assignment; nothing is ever committed.
            "group.id": f"carelay-gateway-view-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "auto.offset.reset": "earliest",
            "socket.connection.setup.timeout.ms": 3000,
            "logger": logging.getLogger(f"gateway.librdkafka.{type(self).__name__}"),
        }
        self._targets: dict[int, int] = {}  # partition -> high watermark at assignment
        self._loaded = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.decode_errors = 0
        self.registry_waits = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"gateway-{type(self).__name__}", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=METADATA_TIMEOUT_S * 4)

    @property
    def loaded(self) -> bool:
        """True once the view caught up with the topic's end as of start-up."""
        return self._loaded.is_set()

    def apply(self, key: bytes | None, record: dict[str, Any] | None) -> None:
        """One record (None: a tombstone) applied to the view; runs on the consumer thread only."""
        raise NotImplementedError

    # -- the consumer thread -----------------------------------------------------------------
    def _run(self) -> None:
        consumer = Consumer(self._config)
        try:
            while not self._stop.is_set():
                try:
                    if self._assign(consumer):
                        break
                except KafkaException as exc:
                    log.info("%s waits for Kafka: %s", self.name, exc.args[0].name())
                self._stop.wait(RETRY_S)
            while not self._stop.is_set():
                for msg in consumer.consume(num_messages=500, timeout=POLL_TIMEOUT_S):
                    if msg.error() is None:
                        self.receive(msg)
                if self._targets:
                    self._check_caught_up(consumer)
                self.after_batch(consumer)
        finally:
            consumer.close()

    def _assign(self, consumer: Consumer) -> bool:
        metadata = consumer.list_topics(self._topic, timeout=METADATA_TIMEOUT_S)
        topic = metadata.topics.get(self._topic)
        if topic is None or topic.error is not None or not topic.partitions:
            return False
        partitions = sorted(topic.partitions)
        targets = {}
        for p in partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(self._topic, p), timeout=METADATA_TIMEOUT_S * 3)
            if high > low:
                targets[p] = high
        self._targets = targets
        consumer.assign(self.start_positions(consumer, partitions))
        if not targets:
            self._loaded.set()
        log.info("%s assigned %d partitions of %s", self.name, len(partitions), self._topic)
        return True

    def start_positions(self, consumer: Consumer, partitions: list[int]) -> list[TopicPartition]:
        """Where reading starts in each partition: the beginning (a view that needs only recent records
        starts from a time instead)."""
        return [TopicPartition(self._topic, p, -2) for p in partitions]  # -2: OFFSET_BEGINNING

    def _check_caught_up(self, consumer: Consumer) -> None:
        # positions, not the last offset seen: compaction and transaction markers leave offset gaps
        positions = consumer.position([TopicPartition(self._topic, p) for p in self._targets])
        for tp in positions:
            if tp.offset >= self._targets[tp.partition]:
                del self._targets[tp.partition]
        if not self._targets:
            self._loaded.set()

    def receive(self, msg: Any) -> None:
        """One consumed record (a confluent_kafka Message); by default its key and value to `take`."""
        self.take(msg.key(), msg.value())

    def after_batch(self, consumer: Consumer) -> None:
        """After each consume call (at least every POLL_TIMEOUT_S): a hook for views that track positions."""

    def take(self, key: bytes | None, value: bytes | None) -> None:
        """One raw record (None: a tombstone); by default decoded and applied. Consumer thread only."""
        if value is None:
            self.apply(key, None)
            return
        record = self.decode(value)
        if record is not None:
            self.apply(key, record)

    def keep_raw(self, records: dict[str, bytes], key: str, value: bytes | None) -> None:
        """Compacted-topic rule for views that keep records undecoded: a tombstone deletes, a record with
        a wrong wire-format header is skipped (the previous one stays), otherwise the last value wins."""
        if value is None:
            records.pop(key, None)
            return
        try:
            self._codec.check_frame(value)
        except ContractError as exc:
            self.skipped(exc)
            return
        records[key] = value

    def decode(self, value: bytes) -> dict[str, Any] | None:
        """The record, or None (counted and logged, never its content) when it does not decode (a bad
        frame or body, an unknown schema id). An unreachable registry is waited out, never skipped:
        a good record dropped from a view would be missing until the process restarts."""
        while True:
            try:
                return self._codec.decode(value)
            except ContractError as exc:
                self.skipped(exc)
                return None
            except RegistryError as exc:
                self.registry_waits += 1
                log.warning("%s: waiting for the schema registry: %s", self.name, exc)
                if self._stop.wait(RETRY_S):
                    return None

    def skipped(self, exc: ContractError) -> None:
        self.decode_errors += 1
        log.warning("%s: record skipped: %s", self.name, exc)
