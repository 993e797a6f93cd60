"""The `templates` topic read into a live TemplateCatalog by a background thread, in every gateway and
worker process.

No consumer group: the one partition is assigned from its beginning and nothing is committed, so each
process holds every template. A record replaces the catalog's template of that name (TemplateCatalog.put:
the owner's newer versions only); names without a record keep the seed file's template.
"""
from __future__ import annotations

import logging
import threading
import uuid

from confluent_kafka import Consumer, KafkaException, TopicPartition

from schemas.codec import AvroCodec
from schemas.errors import ContractError
from schemas.template_records import from_record
from schemas.templates import TemplateCatalog

log = logging.getLogger(__name__)

POLL_TIMEOUT_S = 0.2
RETRY_S = 0.25


class TemplateFeed:
    def __init__(self, bootstrap: str, topic: str, codec: AvroCodec, catalog: TemplateCatalog) -> None:
        self.catalog = catalog
        self._topic = topic
        self._codec = codec
        self._config = {
            "bootstrap.servers": bootstrap,
            "group.id": f"carelay-templates-{uuid.uuid4().hex}",  # required by librdkafka; never committed
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "socket.connection.setup.timeout.ms": 3000,
            "logger": logging.getLogger("schemas.template_feed.librdkafka"),
        }
        self._stop = threading.Event()
        self._loaded = threading.Event()
        self._thread: threading.Thread | None = None
        self.skipped = 0

    @property
    def loaded(self) -> bool:
        """Caught up with the topic's end as of start-up."""
        return self._loaded.is_set()

    def wait_loaded(self, timeout_s: float) -> bool:
        return self._loaded.wait(timeout_s)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="template-feed", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=4.0)

    def take(self, value: bytes | None) -> None:
        """One raw record; a tombstone or an undecodable record leaves the catalog as it is."""
        if value is None:
            return
        try:
            self.catalog.put(from_record(self._codec.decode(value)))
        except (ContractError, KeyError, TypeError, ValueError) as exc:
            self.skipped += 1
            log.warning("template record skipped: %s", type(exc).__name__)

    def _run(self) -> None:
        consumer = Consumer(self._config)
        try:
            end = None
            while end is None and not self._stop.is_set():
                try:
                    _, end = consumer.get_watermark_offsets(TopicPartition(self._topic, 0), timeout=3.0)
                    consumer.assign([TopicPartition(self._topic, 0, -2)])  # -2: from the beginning
                except KafkaException as exc:
                    log.info("template feed waits for Kafka: %s", exc.args[0].name())
                    end = None
                    self._stop.wait(RETRY_S)
            if end == 0:
                self._loaded.set()
            while not self._stop.is_set():
                for msg in consumer.consume(num_messages=500, timeout=POLL_TIMEOUT_S):
                    if msg.error() is None:
                        self.take(msg.value())
                if not self._loaded.is_set() and end is not None:
                    (pos,) = consumer.position([TopicPartition(self._topic, 0)])
                    if pos.offset >= end:
                        self._loaded.set()
        finally:
            consumer.close()
