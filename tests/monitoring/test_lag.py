"""Consumer lag per group and topic (analytics/lag.py): the arithmetic as a table, and a real broker's
committed and end offsets read back."""
from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from prometheus_client import CollectorRegistry, generate_latest

from analytics.lag import LagWatch, lag_by_topic, under_replicated


@pytest.mark.parametrize(("committed", "ends", "expected"), [
    ({("t", 0): 5}, {("t", 0): 9}, {"t": 4}),
    ({("t", 0): 5, ("t", 1): 0}, {("t", 0): 9, ("t", 1): 3}, {"t": 7}),
    ({("t", 0): 9}, {("t", 0): 9}, {"t": 0}),
    ({("t", 0): -1001}, {("t", 0): 9}, {}),
    ({("t", 0): 5}, {}, {}),
    ({("t", 0): 12}, {("t", 0): 9}, {"t": 0}),
    ({("a", 0): 1, ("b", 0): 2}, {("a", 0): 2, ("b", 0): 5}, {"a": 1, "b": 3}),
], ids=["one_partition", "summed_over_partitions", "caught_up", "never_committed", "no_end_offset",
        "end_behind_commit", "two_topics"])
def test_lag_by_topic(committed: dict[tuple[str, int], int], ends: dict[tuple[str, int], int],
                      expected: dict[str, int]) -> None:
    assert lag_by_topic(committed, ends) == expected


@pytest.mark.parametrize(("replicas", "expected"), [
    ({("t", 0): (3, 3)}, {"t": 0}),
    ({("t", 0): (3, 2), ("t", 1): (3, 3), ("t", 2): (3, 1)}, {"t": 2}),
    ({("a", 0): (1, 1), ("b", 0): (3, 2)}, {"a": 0, "b": 1}),
], ids=["in_sync", "two_of_three_short", "per_topic"])
def test_under_replicated(replicas: dict[tuple[str, int], tuple[int, int]], expected: dict[str, int]) -> None:
    assert under_replicated(replicas) == expected


def test_the_watch_reads_a_groups_lag_from_kafka(kafka) -> None:
    topic, group = f"lag-{uuid.uuid4().hex[:8]}", f"lag-group-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": kafka.bootstrap})
    admin.create_topics([NewTopic(topic, 2, 1)])[topic].result(30)
    producer = Producer({"bootstrap.servers": kafka.bootstrap})
    for i in range(10):
        producer.produce(topic, value=b"x", partition=i % 2)
    assert producer.flush(30) == 0
    consumer = Consumer({"bootstrap.servers": kafka.bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        consumer.commit(offsets=[TopicPartition(topic, 0, 2), TopicPartition(topic, 1, 5)], asynchronous=False)
    finally:
        consumer.close()
    watch = LagWatch(kafka.bootstrap, [group, f"absent-{group}"], admin=admin, topic_prefix=topic)
    assert watch.refresh() == {(group, topic): 3}
    registry = CollectorRegistry()
    registry.register(watch)
    text = generate_latest(registry).decode()
    assert f'carelay_kafka_consumer_lag{{group="{group}",topic="{topic}"}} 3.0' in text
    assert f'carelay_kafka_under_replicated_partitions{{topic="{topic}"}} 0.0' in text


FRESH_BROKER_PASS = """
import socket, sys, tempfile
from confluent_kafka.admin import AdminClient, NewTopic
from analytics.lag import LagWatch
from stack.kafka import LocalKafka
s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
kafka = LocalKafka(tempfile.mkdtemp(), port=port, heap="256m"); kafka.start()
try:
    admin = AdminClient({"bootstrap.servers": kafka.bootstrap})
    admin.create_topics([NewTopic("fresh.t", 2, 1)])["fresh.t"].result(30)
    watch = LagWatch(kafka.bootstrap, ["fresh.streams", "fresh.analytics"], topic_prefix="fresh.")
    print("lag", watch.refresh(), flush=True)
    watch.stop()
finally:
    kafka.stop()
"""


def test_a_broker_where_no_group_ever_committed_reads_as_no_lag_and_the_process_lives() -> None:
    """`make run` on a fresh machine: the analytics owner reads lag before any group committed (an
    Admin API call crashed the process there with SIGSEGV); in a child process, so a crash fails here."""
    done = subprocess.run([sys.executable, "-c", FRESH_BROKER_PASS], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    assert "lag {}" in done.stdout
