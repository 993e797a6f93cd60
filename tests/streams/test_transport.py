"""The worker's two corrections to its Kafka clients (streams.transport, used by streams.faust_adapter),
on the real broker.

Each test also checks the library behaviour it corrects: should aiokafka change it, that line fails
and tells us the correction can go.
"""
from __future__ import annotations

import asyncio
import uuid
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import OffsetAndMetadata, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from streams.app import app
from streams.faust_adapter import Consumer, Transport, fetch_settings, new_worker_consumer
from streams.transport import TopicTracker, seek_committed_or_beginning

Positions = dict[TopicPartition, int]


def _topics(kafka, *names: str, partitions: int = 1) -> None:
    admin = AdminClient({"bootstrap.servers": kafka.bootstrap})
    for future in admin.create_topics([NewTopic(name, partitions, 1) for name in names]).values():
        future.result(30)


def test_a_partition_without_a_commit_is_read_again_from_its_beginning(kafka) -> None:
    topic = f"t-seek-{uuid.uuid4().hex[:8]}"
    _topics(kafka, topic, partitions=2)
    never, committed = TopicPartition(topic, 0), TopicPartition(topic, 1)

    async def run() -> tuple[Positions, int, Positions, dict[TopicPartition, int | None]]:
        producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap)
        consumer = AIOKafkaConsumer(bootstrap_servers=kafka.bootstrap, group_id=f"g-{topic}",
                                    auto_offset_reset="earliest", enable_auto_commit=False)
        await producer.start()
        await consumer.start()
        try:
            for n in range(5):
                for tp in (never, committed):
                    await producer.send_and_wait(topic, b"%d" % n, partition=tp.partition)
            consumer.assign([never, committed])
            read = 0
            while read < 10:  # fetched and dropped, as Faust drops them: the position is past them
                read += sum(len(rs) for rs in (await consumer.getmany(timeout_ms=5000)).values())
            await consumer.commit({committed: OffsetAndMetadata(3, "")})

            await consumer.seek_to_committed()  # aiokafka alone
            alone = {tp: await consumer.position(tp) for tp in (never, committed)}
            await seek_committed_or_beginning(consumer, skip={topic})  # e.g. a changelog: left alone
            skipped = await consumer.position(never)
            offsets = await seek_committed_or_beginning(consumer)
            ours = {tp: await consumer.position(tp) for tp in (never, committed)}
            return alone, skipped, ours, dict(offsets)
        finally:
            await producer.stop()
            await consumer.stop()

    alone, skipped, ours, offsets = asyncio.run(run())
    assert offsets == {never: None, committed: 3}
    assert ours == {never: 0, committed: 3}
    assert skipped == 5
    assert alone == {never: 5, committed: 3}  # the flaw corrected


def test_a_topic_sent_to_stays_in_the_producers_metadata(kafka) -> None:
    """While no topic is registered, each metadata refresh fetches every topic, and sends to any of
    them skip registration; the first topic that is registered (a send to a topic created later)
    narrows the refreshes to itself, and the others drop out of the producer's metadata."""
    early = f"t-early-{uuid.uuid4().hex[:8]}"
    _topics(kafka, early)

    async def stays(client: Any, topic: str, refreshes: int = 30) -> bool:
        for _ in range(refreshes):  # refreshes are rate-limited: about 3 s of them
            await client.force_metadata_update()
            if topic not in client.cluster.topics():
                return False
            await asyncio.sleep(0.1)
        return True

    async def early_stays_after_a_later_topic(track: bool) -> bool:
        late = f"t-late-{uuid.uuid4().hex[:8]}"
        producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap)
        await producer.start()
        try:
            client = producer.client
            for _ in range(100):  # a topic just created reaches the broker's metadata shortly after
                await client.force_metadata_update()
                if early in client.cluster.topics():
                    break
                await asyncio.sleep(0.1)
            if track:
                await TopicTracker().track(client, [early])
            await producer.send_and_wait(early, b"v", partition=0)  # known already: not registered
            _topics(kafka, late)
            await producer.send_and_wait(late, b"v", partition=0)  # unknown: registered, alone
            return await stays(client, early)
        finally:
            await producer.stop()

    assert not asyncio.run(early_stays_after_a_later_topic(track=False))  # the flaw corrected
    assert asyncio.run(early_stays_after_a_later_topic(track=True))


def test_the_worker_app_uses_these_clients() -> None:
    assert isinstance(app.transport, Transport)
    assert app.transport.Consumer is Consumer

    async def created() -> tuple[int, int]:
        consumer = new_worker_consumer(app)
        try:  # its fetcher, made when it starts, copies these
            return fetch_settings(consumer)
        finally:
            await consumer.stop()

    tuned = asyncio.run(created())
    assert tuned == (app.config.fetch_min_bytes, app.config.fetch_max_wait_ms) and tuned != (1, 1500)  # not Faust's
