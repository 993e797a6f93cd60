"""The message-state view: every gateway process reads the compacted message.state topic into memory.

No consumer group: each process assigns itself all partitions from the beginning, so every worker
answers GET /v1/messages/{id} for any message without asking another. The streams write the topic
(the reconciler); this module only reads it. Memory grows with the number of live messages (a few
hundred bytes each); past a few million, move the view to a queryable store.
"""
from __future__ import annotations

import logging
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import Consumer, KafkaException, TopicPartition

from schemas.codec import AvroCodec
from schemas.errors import ContractError

log = logging.getLogger(__name__)

POLL_TIMEOUT_S = 0.2
RETRY_S = 0.25
METADATA_TIMEOUT_S = 1.0


class MessageStateView:
    def __init__(self, bootstrap: str, topic: str, codec: AvroCodec) -> None:
        self._topic = topic
        self._codec = codec
        self._config = {
            "bootstrap.servers": bootstrap,
            # librdkafka wants a group id even for manual assignment; nothing is ever committed.
            "group.id": f"carelay-gateway-state-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "auto.offset.reset": "earliest",
            "socket.connection.setup.timeout.ms": 3000,
            "logger": logging.getLogger("gateway.librdkafka.state"),
        }
        self._states: dict[str, dict[str, Any]] = {}
        self._targets: dict[int, int] = {}  # partition -> high watermark at assignment
        self._loaded = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.decode_errors = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="gateway-state-view", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=METADATA_TIMEOUT_S * 4)

    @property
    def loaded(self) -> bool:
        """True once the view caught up with the topic's end as of start-up."""
        return self._loaded.is_set()

    def get(self, message_id: str) -> dict[str, Any] | None:
        return self._states.get(message_id)

    def __len__(self) -> int:
        return len(self._states)

    # -- the consumer thread -----------------------------------------------------------------
    def _run(self) -> None:
        consumer = Consumer(self._config)
        try:
            while not self._stop.is_set():
                try:
                    if self._assign(consumer):
                        break
                except KafkaException as exc:
                    log.info("message state view waits for Kafka: %s", exc.args[0].name())
                self._stop.wait(RETRY_S)
            while not self._stop.is_set():
                for msg in consumer.consume(num_messages=500, timeout=POLL_TIMEOUT_S):
                    if msg.error() is None:
                        self._apply(msg.key(), msg.value())
                if self._targets:
                    self._check_caught_up(consumer)
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
        consumer.assign([TopicPartition(self._topic, p, -2) for p in partitions])  # -2: OFFSET_BEGINNING
        if not targets:
            self._loaded.set()
        log.info("message state view assigned %d partitions of %s", len(partitions), self._topic)
        return True

    def _check_caught_up(self, consumer: Consumer) -> None:
        # positions, not the last offset seen: compaction and transaction markers leave offset gaps
        positions = consumer.position([TopicPartition(self._topic, p) for p in self._targets])
        for tp in positions:
            if tp.offset >= self._targets[tp.partition]:
                del self._targets[tp.partition]
        if not self._targets:
            self._loaded.set()

    def _apply(self, key: bytes | None, value: bytes | None) -> None:
        if value is None:  # tombstone: the state was deleted
            if key is not None:
                self._states.pop(key.decode("utf-8", "replace"), None)
            return
        try:
            record = self._codec.decode(value)
        except ContractError as exc:
            self.decode_errors += 1
            log.warning("message state record skipped: %s", exc)
            return
        self._states[record["message_id"]] = record


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):  # fastavro reads timestamp-millis as aware datetimes
        return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return datetime.fromtimestamp(int(value) / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def present(record: dict[str, Any]) -> dict[str, Any]:
    """The public shape of a MessageState (no recipient pseudonym: callers know their own patient)."""
    return {
        "message_id": record["message_id"],
        "status": record["status"],
        "channel": record.get("channel"),
        "provider": record.get("provider"),
        "provider_message_id": record.get("provider_message_id"),
        "hop": record.get("hop", 0),
        "is_final": record.get("is_final", False),
        "created_at": _iso(record.get("created_at")),
        "updated_at": _iso(record.get("updated_at")),
        "history": [
            {
                "status": h["status"],
                "at": _iso(h["at"]),
                "channel": h.get("channel"),
                "provider": h.get("provider"),
                "attempt_id": h.get("attempt_id"),
                "error_code": h.get("error_code"),
                "source": h.get("source"),
            }
            for h in record.get("history", [])
        ],
    }


def accepted_only(message_id: str, created_at_ms: int) -> dict[str, Any]:
    """What this worker knows of a message it accepted before the streams reported on it."""
    return {
        "message_id": message_id, "status": "accepted", "channel": None, "provider": None,
        "provider_message_id": None, "hop": 0, "is_final": False, "created_at": _iso(created_at_ms),
        "updated_at": _iso(created_at_ms), "history": [],
    }
