"""The asyncio bridge on the real broker, in both polling modes: acks resolve, silence becomes Unavailable."""
from __future__ import annotations

import asyncio
import threading
import time
import uuid

import pytest
from confluent_kafka import KafkaError
from confluent_kafka.admin import AdminClient, NewTopic

from gateway.errors import Unavailable
from gateway.publisher import Publisher
from stack.javaproc import free_port


@pytest.fixture(scope="module")
def topic(kafka) -> str:
    name = f"t-publisher-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": kafka.bootstrap})
    admin.create_topics([NewTopic(name, 2, 1)])[name].result(timeout=30)
    return name


@pytest.mark.parametrize("in_loop", [True, False], ids=["loop", "thread"])
def test_publish_waits_for_the_ack(kafka, topic, in_loop):
    seen: list[tuple[str, bool]] = []

    async def run() -> None:
        pub = Publisher(kafka.bootstrap, linger_ms=5, send_timeout_s=10, poll_in_loop=in_loop,
                        observe=lambda label, _s, ok: seen.append((label, ok)))
        pub.start()
        try:
            await pub.publish(topic, "k", b"v", label="t")
            results = await pub.settle([pub.submit(topic, f"k{i}", b"v") for i in range(200)])
            assert results == [None] * 200
            assert pub.recently_acked() and await pub.broker_reachable()
        finally:
            assert await pub.aclose() == 0

    asyncio.run(run())
    assert seen[0] == ("t", True)


@pytest.mark.parametrize("in_loop", [True, False], ids=["loop", "thread"])
def test_no_broker_means_unavailable_within_the_timeout(in_loop):
    async def run() -> None:
        pub = Publisher(f"127.0.0.1:{free_port()}", linger_ms=5, send_timeout_s=0.5, poll_in_loop=in_loop)
        pub.start()
        try:
            start = time.monotonic()
            with pytest.raises(Unavailable):
                await pub.publish("nowhere", None, b"v")
            assert time.monotonic() - start < 1.0
            assert not await pub.broker_reachable()
        finally:
            await pub.aclose(flush_timeout_s=0.1)

    asyncio.run(run())


def test_the_loop_ticker_times_records_out_without_librdkafka():
    """The loop's own records have no timer each: the ticker fails one still unacknowledged after the
    send timeout, even when librdkafka would wait much longer."""
    async def run() -> None:
        pub = Publisher(f"127.0.0.1:{free_port()}", linger_ms=5, send_timeout_s=0.5,
                        extra_config={"message.timeout.ms": 60_000})
        pub.start()
        try:
            start = time.monotonic()
            results = await pub.settle([pub.submit("nowhere", None, b"v") for _ in range(3)])
            assert all(isinstance(r, Unavailable) for r in results)
            assert 0.5 <= time.monotonic() - start < 1.5
        finally:
            await pub.aclose(flush_timeout_s=0.1)

    asyncio.run(run())


def test_closing_fails_what_is_still_waited_for():
    """After aclose no tick comes: a request still waiting gets Unavailable, it does not hang."""
    async def run() -> None:
        pub = Publisher(f"127.0.0.1:{free_port()}", linger_ms=5, send_timeout_s=60,
                        extra_config={"message.timeout.ms": 60_000})
        pub.start()
        waiting = asyncio.ensure_future(pub.settle([pub.submit("nowhere", None, b"v")]))
        await asyncio.sleep(0.1)
        assert not waiting.done()
        assert await pub.aclose(flush_timeout_s=0.1) == 1
        results = await asyncio.wait_for(waiting, 5)
        assert isinstance(results[0], Unavailable)

    asyncio.run(run())


@pytest.mark.parametrize("in_loop", [True, False], ids=["loop", "thread"])
def test_a_fatal_error_replaces_the_producer(kafka, topic, in_loop):
    """A fatal error (librdkafka's error callback, as after an idempotence desynchronisation,
    librdkafka#3584) leaves a producer that refuses everything: the next record goes through a new one."""
    async def run() -> None:
        renewed: list[int] = []
        pub = Publisher(kafka.bootstrap, linger_ms=5, send_timeout_s=10, poll_in_loop=in_loop,
                        on_renew=lambda: renewed.append(1))
        pub.start()
        try:
            await pub.publish(topic, "k", b"before")
            first = pub._producer
            pub._on_error(KafkaError(KafkaError._FATAL, "sequence desynchronisation", fatal=True))
            await pub.publish(topic, "k", b"after")
            assert pub._producer is not first
            assert renewed == [1]
            await pub.publish(topic, "k", b"again")
            assert renewed == [1]
        finally:
            assert await pub.aclose() == 0

    asyncio.run(run())


def test_a_future_of_another_event_loop_is_resolved_on_its_own_loop(kafka, topic):
    """The app's lifespan loop polls; a test client's request may run on another loop."""
    async def main() -> None:
        pub = Publisher(kafka.bootstrap, linger_ms=1, send_timeout_s=10)
        pub.start()
        outcome: list[object] = []

        def other_loop() -> None:
            async def request() -> None:
                outcome.append(await pub.settle([pub.submit(topic, "x", b"v")]))
            asyncio.run(request())

        thread = threading.Thread(target=other_loop)
        thread.start()
        await asyncio.to_thread(thread.join)
        assert outcome == [[None]]
        await pub.aclose()

    asyncio.run(main())
