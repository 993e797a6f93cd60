"""The Kafka → ClickHouse sink: consume, map, insert in batches, commit only after the insert succeeded.

At-least-once by design: offsets are committed after ClickHouse has the rows, so a crash between the
two re-reads the batch; the replayed rows carry the same event ids and collapse (ReplacingMergeTree,
uniqExact rollups). A retry of the very same batch is also dropped by ClickHouse itself through
insert_deduplication_token. While ClickHouse is unreachable the sink pauses its partitions and retries
the held batch with backoff; nothing new is read, nothing is committed, nothing is lost.
A consumer that failed fatally (the broker fenced its static membership, as after a broker restart
that outlasts the session) is closed and replaced by a new one, which reads on from the committed offsets.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition

from analytics.batch import Batch
from analytics.exceptions import StoreUnavailable
from analytics.rows import Source, to_rows, undecodable
from analytics.store import Store
from analytics.tables import COLUMNS
from schemas.errors import ContractError
from schemas.registry import RegistryError
from schemas.settings import AnalyticsSettings
from schemas.topics import BoundTopic, Catalog

log = logging.getLogger(__name__)

# The catalog attributes the sink reads; their value types are the keys of rows.MAPPERS.
SOURCE_TOPICS = ("send_requests", "dispatch", "provider_status", "inbound", "consent", "outcomes",
                 "message_state", "audit", "circuit", "dead_letter", "appointment_events", "staff_notifications")
REGISTRY_ATTEMPTS = 5  # a schema id the registry still cannot resolve after this many tries is dead-lettered


@dataclass
class SinkStats:
    """Counters for /v1/health and the logs; plain ints, written by the sink thread only."""

    consumed: int = 0
    rows_inserted: int = 0
    batches: int = 0
    dead_letters: int = 0
    insert_failures: int = 0
    commit_failures: int = 0
    consumer_reopens: int = 0  # consumers replaced after a fatal error (see Sink._reopen)
    last_batch_rows: int = 0
    last_insert_rows_per_s: float = 0.0
    paused_since: float | None = None  # wall time the sink paused on an unreachable store

    def snapshot(self) -> dict[str, Any]:
        return dict(vars(self)) | {"paused": self.paused_since is not None}


@dataclass
class Backoff:
    initial_s: float
    max_s: float
    _next: float = field(default=0.0)

    def next(self) -> float:
        self._next = self.initial_s if self._next == 0 else min(self.max_s, self._next * 2)
        return self._next

    def reset(self) -> None:
        self._next = 0.0


class DeadLetters:
    """Undecodable records go to the dead-letter topic whole (PHI inside stays sealed)."""

    def __init__(self, producer: Producer, topic: BoundTopic) -> None:
        self._producer = producer
        self._topic = topic

    def send(self, msg: Message, reason: str, detail: str) -> None:
        if msg.topic() == self._topic.name:  # never dead-letter a dead letter: no loops
            return
        value = self._topic.codec.encode({
            "source_topic": msg.topic(), "source_partition": msg.partition(), "source_offset": msg.offset(),
            "key": msg.key(), "value": msg.value(), "reason": reason, "detail": detail, "message_id": None,
            "failed_at": int(time.time() * 1000),  # epoch millis: the codec's timestamp representation
        })
        self._producer.produce(self._topic.name, key=msg.key(), value=value)

    def flush(self, timeout_s: float = 10.0) -> int:
        return int(self._producer.flush(timeout_s))


class Sink:
    """The consume → batch → insert → commit loop. One instance per process, on the main thread."""

    def __init__(self, open_consumer: Callable[[], Consumer], store: Store, catalog: Catalog,
                 dead_letters: DeadLetters, cfg: AnalyticsSettings, stats: SinkStats | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._open_consumer = open_consumer
        self._consumer = open_consumer()
        self._store = store
        bound = [getattr(catalog, attr) for attr in SOURCE_TOPICS]
        self._topics: dict[str, BoundTopic] = {b.name: b for b in bound}
        self._dead_letters = dead_letters
        self._cfg = cfg
        self.stats = stats or SinkStats()
        self._clock = clock
        self._batch = self._new_batch()
        self._pending: Batch | None = None  # a batch whose insert failed: partitions stay paused
        self._backoff = Backoff(cfg.retry_initial_s, cfg.retry_max_s)
        self._registry_backoff = Backoff(cfg.retry_initial_s, cfg.retry_max_s)
        self._reopen_backoff = Backoff(cfg.retry_initial_s, cfg.retry_max_s)
        self._registry_failures: dict[Source, int] = {}
        self._stop = threading.Event()

    @property
    def topic_names(self) -> list[str]:
        return sorted(self._topics)

    def _new_batch(self) -> Batch:
        return Batch(self._cfg.batch_rows, self._cfg.batch_interval_s)

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        self._subscribe()
        try:
            while not self._stop.is_set():
                if self._pending is not None:
                    self._retry_pending()
                    continue
                self._poll(min(self._batch.seconds_left(self._clock()), 0.5))
                if self._batch.due(self._clock()):
                    self._flush()
        finally:
            self._shutdown()

    # -- reading -------------------------------------------------------------------------------

    def _subscribe(self) -> None:
        self._consumer.subscribe(self.topic_names, on_assign=self._on_assign, on_revoke=self._on_revoke)

    def _poll(self, timeout_s: float) -> None:
        msgs = self._consumer.consume(num_messages=min(self._batch.room(), 1000), timeout=max(timeout_s, 0.01))
        now = self._clock()  # one reading per consumed list: a batch's age need not be finer than that
        rewound: set[tuple[str | None, int | None]] = set()
        for msg in msgs:
            err = msg.error()
            if err is not None:
                if err.fatal() or err.code() == KafkaError._FATAL:
                    self._reopen(err)
                    return
                if err.code() != KafkaError._PARTITION_EOF:
                    log.warning("consumer error: %s", err.str())
                continue
            if rewound and (msg.topic(), msg.partition()) in rewound:
                continue  # re-read after the seek in _accept
            if not self._accept(msg, now):
                rewound.add((msg.topic(), msg.partition()))

    def _accept(self, msg: Message, now: float) -> bool:
        """Map one record into the batch. False: the registry is unreachable; the partition was rewound."""
        src = Source(str(msg.topic()), int(msg.partition() or 0), int(msg.offset() or 0))
        self.stats.consumed += 1
        value = msg.value()
        if value is None:  # a tombstone on a compacted topic: nothing to record, but commit past it
            self._batch.add(src, [], now)
            return True
        bound = self._topics[src.topic]
        try:
            rows = to_rows(bound.topic.value_type, bound.codec.decode(value), src)
        except RegistryError:
            tries = self._registry_failures.get(src, 0) + 1
            if tries < REGISTRY_ATTEMPTS:
                self._registry_failures[src] = tries
                log.warning("schema registry unavailable at %s:%d@%d (try %d)", src.topic, src.partition,
                            src.offset, tries)
                self._consumer.seek(TopicPartition(src.topic, src.partition, src.offset))
                time.sleep(self._registry_backoff.next())
                return False
            rows = self._dead_letter(msg, src, "unknown_schema", "the registry cannot resolve its schema id")
        except ContractError as exc:
            rows = self._dead_letter(msg, src, "undecodable", str(exc))
        except (KeyError, TypeError, ValueError) as exc:
            rows = self._dead_letter(msg, src, "unmappable", f"{bound.topic.value_type}: {type(exc).__name__}")
        if self._registry_failures and self._registry_failures.pop(src, None) is not None:
            self._registry_backoff.reset()
        self._batch.add(src, rows, now)
        return True

    def _reopen(self, err: KafkaError) -> None:
        """A fatally failed consumer reads and commits nothing ever again (librdkafka: e.g. FENCED_INSTANCE_ID
        once its session timed out while the broker was away and it rejoined under the same static id).
        Replace it. What this one read but did not commit is dropped, not stored: the new consumer starts
        at the committed offsets and reads it again (replayed rows collapse on their event ids)."""
        self.stats.consumer_reopens += 1
        log.error("consumer failed fatally (%s); replacing it, uncommitted records will be read again", err.str())
        self._batch = self._new_batch()
        self._pending = None
        self._backoff.reset()
        self.stats.paused_since = None
        try:
            self._consumer.close()
        except (KafkaException, RuntimeError) as exc:
            log.warning("closing the failed consumer: %s", exc)
        # a second owner under the same static id would fence this one again at once: do not spin
        self._stop.wait(self._reopen_backoff.next())
        self._consumer = self._open_consumer()
        self._subscribe()

    def _dead_letter(self, msg: Message, src: Source, reason: str, detail: str) -> list[Any]:
        self.stats.dead_letters += 1
        log.warning("dead-lettering %s:%d@%d: %s", src.topic, src.partition, src.offset, reason)
        self._dead_letters.send(msg, reason, detail)
        return [undecodable(src, reason, datetime.now(UTC))]

    # -- writing -------------------------------------------------------------------------------

    def _write(self, batch: Batch) -> None:
        started = time.perf_counter()
        for table, rows in batch.rows.items():
            self._store.insert(table, rows, COLUMNS[table], token=batch.token(table))
        elapsed = time.perf_counter() - started
        count = batch.row_count
        self.stats.rows_inserted += count
        self.stats.batches += 1
        self.stats.last_batch_rows = count
        self.stats.last_insert_rows_per_s = round(count / elapsed, 1) if elapsed > 0 else 0.0

    def _commit(self, batch: Batch) -> None:
        undelivered = self._dead_letters.flush()
        if undelivered:
            log.error("%d dead letters not yet delivered to Kafka; their rows are in ClickHouse", undelivered)
        offsets = [TopicPartition(t, p, o) for t, p, o in batch.commit_offsets()]
        if not offsets:
            return
        try:
            self._consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as exc:  # the rows are stored; a replay after this collapses on event ids
            self.stats.commit_failures += 1
            log.warning("offset commit failed (%s); the batch may be re-read and deduplicated", exc)
            return
        self._reopen_backoff.reset()

    def _flush(self) -> None:
        batch, self._batch = self._batch, self._new_batch()
        try:
            self._write(batch)
        except StoreUnavailable as exc:
            self._hold(batch, exc)
            return
        self._commit(batch)

    def _hold(self, batch: Batch, exc: Exception) -> None:
        self.stats.insert_failures += 1
        log.warning("ClickHouse insert failed, pausing consumption and retrying: %s", exc)
        self._pending = batch
        if self.stats.paused_since is None:
            self.stats.paused_since = time.time()
        assignment = self._consumer.assignment()
        if assignment:
            self._consumer.pause(assignment)

    def _retry_pending(self) -> None:
        self._wait(self._backoff.next())
        pending = self._pending
        if pending is None or self._stop.is_set():
            return
        try:
            self._write(pending)
        except StoreUnavailable as exc:
            self.stats.insert_failures += 1
            log.warning("ClickHouse still unavailable: %s", exc)
            return
        self._commit(pending)
        self._release()

    def _release(self) -> None:
        self._pending = None
        self._backoff.reset()
        self.stats.paused_since = None
        assignment = self._consumer.assignment()
        if assignment:
            self._consumer.resume(assignment)
        log.info("ClickHouse reachable again; consumption resumed")

    def _wait(self, seconds: float) -> None:
        """Sleep while still serving the consumer (rebalances, liveness); paused partitions yield nothing,
        and anything a newly assigned partition yields is kept for the next batch."""
        deadline = self._clock() + seconds
        while not self._stop.is_set() and self._pending is not None:
            left = deadline - self._clock()
            if left <= 0:
                return
            self._poll(min(left, 0.5))

    # -- rebalances and shutdown ---------------------------------------------------------------

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        if self._pending is not None and partitions:
            consumer.pause(partitions)

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Last chance to store what we read from these partitions; if ClickHouse is down, the next
        owner re-reads the uncommitted records and the event ids deduplicate them."""
        revoked = {(p.topic, p.partition) for p in partitions}
        for batch in (self._pending, self._batch):
            if not batch:
                continue
            try:
                self._write(batch)
                self._commit(batch)
            except StoreUnavailable:
                batch.drop_partitions(revoked)
                continue
            batch.clear()
        if self._pending is not None and not self._pending:
            self._release()

    def _shutdown(self) -> None:
        for batch in (self._pending, self._batch):
            for _ in range(3):
                if not batch:
                    break
                try:
                    self._write(batch)
                except StoreUnavailable as exc:
                    log.warning("final insert failed (%s); the records stay uncommitted and will replay", exc)
                    time.sleep(self._cfg.retry_initial_s)
                    continue
                self._commit(batch)
                batch.clear()  # so that the revoke callback inside close() has nothing left to write
        self._consumer.close()

