"""The worker's Kafka clients: Faust's aiokafka driver, with two corrections the chaos tests found.

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

from collections.abc import Collection, Iterable, Mapping
from typing import Any

from faust.transport.drivers import aiokafka as driver
from faust.types import TP


async def seek_committed_or_beginning(consumer: Any, skip: Collection[str] = ()) -> Mapping[Any, int | None]:
    """Seek an AIOKafkaConsumer's assigned partitions to their committed offsets, and those without
    one to their beginning, except partitions of the `skip` topics; returns the committed offsets
    (None where there is none)."""
    committed: Mapping[Any, int | None] = await consumer.seek_to_committed()
    never = [tp for tp, offset in committed.items() if not offset and tp.topic not in skip]
    if never:
        await consumer.seek_to_beginning(*never)
    return committed


class ConsumerThread(driver.AIOKafkaConsumerThread):
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
