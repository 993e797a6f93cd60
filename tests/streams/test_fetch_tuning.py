"""The worker's fetch settings reach aiokafka's running fetcher, and records still flow with them."""
from __future__ import annotations

import asyncio
import time
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from streams.transport import tune_fetcher


def test_tuned_fetcher_asks_for_batches_and_still_delivers_a_lone_record(kafka) -> None:
    topic = f"t-fetch-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": kafka.bootstrap})
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(30)

    async def run() -> float:
        # Faust's own settings: the broker answers a fetch as soon as one byte is there
        consumer = AIOKafkaConsumer(bootstrap_servers=kafka.bootstrap, fetch_max_wait_ms=1500,
                                    auto_offset_reset="earliest", enable_auto_commit=False)
        producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap)
        await consumer.start()
        await producer.start()
        try:
            consumer.assign([TopicPartition(topic, 0)])
            assert tune_fetcher(consumer, 65_536, 200)
            fetcher = consumer._fetcher
            assert (fetcher._fetch_min_bytes, fetcher._fetch_max_wait_ms) == (65_536, 200)
            assert (consumer._fetch_min_bytes, consumer._fetch_max_wait_ms) == (65_536, 200)
            start = time.monotonic()
            await producer.send_and_wait(topic, b"lone", key=b"k")
            batches = await consumer.getmany(timeout_ms=5000)
            got = [r.value for records in batches.values() for r in records]
            assert got == [b"lone"]  # far below min bytes: the broker still answers after max wait
            return time.monotonic() - start
        finally:
            await producer.stop()
            await consumer.stop()

    assert asyncio.run(run()) < 3.0


def test_an_unknown_consumer_shape_is_left_alone() -> None:
    class Other:
        pass

    other = Other()
    assert not tune_fetcher(other, 65_536, 100)
    assert not hasattr(other, "_fetch_min_bytes")
