"""The worker's Kafka clients: Faust's aiokafka driver, with our fetch settings and two corrections.

Fetch settings: `tune_fetcher`, applied where the driver creates the worker's consumer.

1. Seeking back to the committed offsets. Faust drops records during a rebalance and relies on
   "seek back to the committed offsets" to read them again, but aiokafka leaves a partition without
   a committed offset at its fetch position, past the dropped records, and later commits cover the
   hole. Such a partition is read from its beginning instead (`auto_offset_reset=earliest` for a
   group that has not committed there); records processed again are harmless, every step is
   idempotent (streams/README.md, "Exactly once to the patient").

2. Every topic we produce to stays in the producer's metadata. aiokafka does not register a topic
   its metadata already has, and the first topic registered later narrows every metadata refresh
   to itself: batches for the other topics wait for a leader until they expire and the worker stops.
"""
from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Mapping
from typing import Any, cast

from faust.transport.drivers import aiokafka as driver
from faust.types import TP

log = logging.getLogger("carelay.streams")


async def seek_committed_or_beginning(consumer: Any, skip: Collection[str] = ()) -> Mapping[Any, int | None]:
    """Seek an AIOKafkaConsumer's assigned partitions to their committed offsets, and those without
    one to their beginning, except partitions of the `skip` topics; returns the committed offsets
    (None where there is none)."""
    committed: Mapping[Any, int | None] = await consumer.seek_to_committed()
    never = [tp for tp, offset in committed.items() if not offset and tp.topic not in skip]
    if never:
        await consumer.seek_to_beginning(*never)
    return committed


def tune_fetcher(consumer: Any, min_bytes: int, max_wait_ms: int) -> bool:
    """Give aiokafka's consumer (and its running fetcher) our fetch.min.bytes / fetch.max.wait.ms.

    Faust offers no setting for either; its 1 byte / 1.5 s answer every fetch at once under load,
    each walking every assigned partition in Python (CPU figures: docs/benchmarks.md). A fetcher
    copies both when it starts, so a running one is set as well. Returns False (and changes
    nothing) if the attributes are not where aiokafka 0.8-0.14 keeps them.
    """
    fetcher = getattr(consumer, "_fetcher", None)
    targets = [consumer, fetcher] if fetcher is not None else [consumer]
    if not all(hasattr(t, "_fetch_min_bytes") and hasattr(t, "_fetch_max_wait_ms") for t in targets):
        return False
    for t in targets:
        t._fetch_min_bytes = min_bytes
        t._fetch_max_wait_ms = max_wait_ms
    return True


class ConsumerThread(driver.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        config = cast(Any, self.app).config  # CarelayApp's StreamsConfig
        if not tune_fetcher(consumer, config.fetch_min_bytes, config.fetch_max_wait_ms):
            log.warning("aiokafka's fetch settings are not where expected: fetching keeps Faust's defaults")
        return consumer

    async def seek_to_committed(self) -> Mapping[TP, int]:
        # changelog partitions are never committed: Faust's recovery positions them itself
        changelogs = self.consumer.app.tables.changelog_topics
        result: Mapping[TP, int] = await self.call_thread(seek_committed_or_beginning, self._ensure_consumer(),
                                                          changelogs)
        return result


class Consumer(driver.Consumer):
    def _new_consumer_thread(self) -> ConsumerThread:
        return ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class TopicTracker:
    """Registers each topic with the producer's client once, before its first batch (2. above)."""

    def __init__(self) -> None:
        self._client: Any = None
        self._topics: set[str] = set()

    async def track(self, client: Any, topics: Iterable[str]) -> None:
        if client is not self._client:  # a new producer (Faust restarted it): start over
            self._client, self._topics = client, set()
        for topic in topics:
            if topic not in self._topics:
                await client.add_topic(topic)  # a metadata refresh if the topic was not registered
                self._topics.add(topic)


class Transport(driver.Transport):
    Consumer = Consumer
