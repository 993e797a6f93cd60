"""The worker's Kafka clients: Faust's aiokafka driver, with our fetch settings and two corrections
the chaos tests found.

Fetch settings: `tune_fetcher`, applied where the driver creates the worker's consumer.

1. Seeking back to the committed offsets. Faust drops records in several places during a rebalance
   (fetched while the flow is stopped, or across a generation change) and relies on "seek back to
   the committed offsets" to read them again. aiokafka's `seek_to_committed` leaves a partition
   without a committed offset where its fetch position already is, past the dropped records, and
   Faust's offset tracking then has no committed offset to notice the hole: the next records
   processed were committed over it. A worker that took over a partition its SIGKILLed predecessor
   had not committed yet lost a few seconds of send requests that way (stuck `accepted` for good;
   `tests/chaos/test_chaos.py`, two workers). Such a partition is now read from its beginning,
   which is what `auto_offset_reset=earliest` means for a group that has not committed there: at
   worst records processed before the crash are processed again, and every step is idempotent
   (streams/README.md, "Exactly once to the patient").

2. Keeping every topic we produce to in the producer's metadata. While no topic is registered with
   aiokafka's client, each metadata refresh fetches every topic, and `send`/`send_batch` skip
   registering a topic the metadata already has. The first topic that does get registered (a send
   to a topic missing from the last refresh, e.g. a changelog another worker was still creating)
   narrows every later refresh to itself: the other topics drop out of the metadata, and batches
   queued for them wait for a leader until they expire (30 s, then NotLeaderForPartitionError and
   the worker stops; at start-up, in about one run in three of the two-worker chaos test).
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

    Faust creates the AIOKafkaConsumer with fetch_max_wait_ms=1500 and aiokafka's fetch_min_bytes=1
    and offers no setting for either, so under load the broker answers a fetch as soon as any byte
    is there: hundreds of small fetch rounds a second, each walking every assigned partition in
    Python (about 90 here: 13 topics and the changelogs). With 64 KB / 100 ms the worker spent a
    quarter less CPU per message lifecycle (`stack.bench --worker-only`, docs/benchmarks.md), for up
    to 100 ms more per hop under a trickle. A consumer's fetcher copies both when it starts: the worker's
    consumer is tuned before (ConsumerThread); a running one has its fetcher set as well.
    Returns False (and changes nothing) if the attributes are not where aiokafka 0.8-0.14 keeps them.
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
