"""The worker's two corrections to its Kafka clients, over aiokafka's public API. Faust's driver is
adapted to use them (and our fetch settings) in streams.faust_adapter.

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

from collections.abc import Collection, Iterable, Mapping
from typing import Any


async def seek_committed_or_beginning(consumer: Any, skip: Collection[str] = ()) -> Mapping[Any, int | None]:
    """Seek an AIOKafkaConsumer's assigned partitions to their committed offsets, and those without
    one to their beginning, except partitions of the `skip` topics; returns the committed offsets
    (None where there is none)."""
    committed: Mapping[Any, int | None] = await consumer.seek_to_committed()
    never = [tp for tp, offset in committed.items() if not offset and tp.topic not in skip]
    if never:
        await consumer.seek_to_beginning(*never)
    return committed


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

