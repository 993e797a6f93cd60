"""The local broker works for every client we ship: confluent-kafka, aiokafka and a Faust worker."""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin import NewTopic as AioNewTopic
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from stack.javaproc import free_port
from stack.kafka import new_cluster_id, server_properties

REPO = Path(__file__).resolve().parents[2]


def _name(label: str) -> str:
    return f"stack-test-{label}-{uuid.uuid4().hex[:8]}"


def create_topics(bootstrap: str, names: list[str], partitions: int = 2) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(n, num_partitions=partitions, replication_factor=1) for n in names])
    for future in futures.values():
        future.result(timeout=30)


def produce(bootstrap: str, topic: str, keys: list[str]) -> None:
    # murmur2 is the Java (and aiokafka/Faust) partitioner; librdkafka's default would differ.
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "partitioner": "murmur2_random"})
    for key in keys:
        producer.produce(topic, key=key.encode(), value=b"1")
    assert producer.flush(30) == 0


def read_all(bootstrap: str, topic: str, partitions: int = 2, expect: int = 1, timeout: float = 30) -> list[bytes]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": _name("reader"), "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    values: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while len(values) < expect and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is not None and msg.error() is None:
                values.append(msg.value() or b"")
    finally:
        consumer.close()
    return values


def test_server_properties_are_a_single_quiet_kraft_node(tmp_path: Path) -> None:
    text = server_properties(port=1234, controller_port=1235, log_dirs=tmp_path)
    props = dict(line.split("=", 1) for line in text.splitlines())
    assert props["process.roles"] == "broker,controller"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:1235"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:1234"
    assert props["auto.create.topics.enable"] == "false"
    assert props["group.initial.rebalance.delay.ms"] == "0"
    assert props["offsets.topic.replication.factor"] == props["transaction.state.log.replication.factor"] == "1"
    assert props["num.partitions"] == "6"
    assert props["log.dirs"] == str(tmp_path)


def test_cluster_ids_look_like_kafka_uuids() -> None:
    ids = {new_cluster_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(len(i) == 22 and not i.startswith("-") for i in ids)


def test_free_ports_are_bindable() -> None:
    port = free_port()
    assert 1024 < port < 65536


def test_confluent_kafka_produce_consume_in_a_group(kafka) -> None:
    topic = _name("confluent")
    create_topics(kafka.bootstrap, [topic], partitions=3)
    produce(kafka.bootstrap, topic, [f"k{i}" for i in range(30)])
    group = _name("group")
    consumer = Consumer({"bootstrap.servers": kafka.bootstrap, "group.id": group,
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe([topic])
    keys: set[bytes] = set()
    deadline = time.monotonic() + 30
    try:
        while len(keys) < 30 and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is not None and msg.error() is None:
                keys.add(msg.key() or b"")
        consumer.commit(asynchronous=False)
        committed = consumer.committed([TopicPartition(topic, p) for p in range(3)], timeout=10)
    finally:
        consumer.close()
    assert len(keys) == 30
    assert sum(tp.offset for tp in committed) == 30


def test_topics_are_never_created_implicitly(kafka) -> None:
    topic = _name("missing")
    admin = AdminClient({"bootstrap.servers": kafka.bootstrap})
    meta = admin.list_topics(topic=topic, timeout=10)
    error = meta.topics[topic].error
    assert error is not None
    assert error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART


def test_aiokafka_creates_topics_produces_and_commits(kafka) -> None:
    topic, group = _name("aiokafka"), _name("aiogroup")

    async def roundtrip() -> tuple[list[bytes], int]:
        admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap)
        await admin.start()
        try:  # CreateTopics from aiokafka: the request older clients sent in a version 4.x refuses
            await admin.create_topics([AioNewTopic(topic, num_partitions=2, replication_factor=1)])
        finally:
            await admin.close()
        producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap, acks="all", enable_idempotence=True)
        await producer.start()
        try:
            for i in range(10):
                await producer.send_and_wait(topic, f"m{i}".encode(), key=f"k{i}".encode())
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(topic, bootstrap_servers=kafka.bootstrap, group_id=group,
                                    auto_offset_reset="earliest", enable_auto_commit=False)
        await consumer.start()
        try:
            got: list[bytes] = []
            async with asyncio.timeout(30):
                while len(got) < 10:
                    batches = await consumer.getmany(timeout_ms=1000)
                    got.extend(m.value for msgs in batches.values() for m in msgs if m.value is not None)
            await consumer.commit()
            committed = 0
            for tp in consumer.assignment():
                committed += await consumer.committed(tp) or 0
        finally:
            await consumer.stop()
        return got, committed

    got, committed = asyncio.run(roundtrip())
    assert sorted(got) == sorted(f"m{i}".encode() for i in range(10))
    assert committed == 10


@contextmanager
def faust_worker(
    bootstrap: str, app_id: str, in_topic: str, out_topic: str, log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    env = {**os.environ, "FAUST_TEST_BOOTSTRAP": bootstrap, "FAUST_TEST_APP_ID": app_id,
           "FAUST_TEST_IN": in_topic, "FAUST_TEST_OUT": out_topic, "FAUST_TEST_DATADIR": str(log.parent / "faust")}
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "faust", "-A", "tests.stack.faust_wordcount",
             "worker", "-l", "warn", "--without-web"],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        yield proc
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def await_counts(
    consumer: Consumer, worker: subprocess.Popen[bytes], want: dict[str, int], timeout: float = 90
) -> dict[str, int]:
    seen: dict[str, int] = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and worker.poll() is None and any(seen.get(k) != v for k, v in want.items()):
        msg = consumer.poll(0.5)
        if msg is not None and msg.error() is None:
            seen[(msg.key() or b"").decode()] = int(msg.value() or b"0")
    return seen


@pytest.mark.timeout(300)
def test_faust_table_changelog_survives_a_worker_restart(kafka, tmp_path: Path) -> None:
    app_id = _name("faust")
    in_topic, out_topic = f"{app_id}.words", f"{app_id}.counts"
    create_topics(kafka.bootstrap, [in_topic, out_topic], partitions=2)
    reader = Consumer({"bootstrap.servers": kafka.bootstrap, "group.id": _name("counts-reader"),
                       "auto.offset.reset": "earliest"})
    reader.subscribe([out_topic])
    log = tmp_path / "faust.log"
    try:
        with faust_worker(kafka.bootstrap, app_id, in_topic, out_topic, log) as worker:
            produce(kafka.bootstrap, in_topic, ["a", "b", "a", "a", "b"])
            seen = await_counts(reader, worker, {"a": 3, "b": 2})
            assert seen == {"a": 3, "b": 2}, log.read_text()[-3000:]

        admin = AdminClient({"bootstrap.servers": kafka.bootstrap})
        assert f"{app_id}-counts-changelog" in admin.list_topics(timeout=10).topics
        groups = {g.group_id for g in admin.list_consumer_groups().result(timeout=10).valid}
        assert app_id in groups

        # A fresh worker has an empty in-memory table: 4 proves the changelog restored the 3.
        with faust_worker(kafka.bootstrap, app_id, in_topic, out_topic, log) as worker:
            produce(kafka.bootstrap, in_topic, ["a"])
            seen = await_counts(reader, worker, {"a": 4})
            assert seen.get("a") == 4, log.read_text()[-3000:]
    finally:
        reader.close()


@pytest.mark.timeout(240)
def test_a_restarted_or_killed_broker_keeps_its_data(kafka_factory) -> None:
    # After a kill the old registration must expire before the broker may register again;
    # a short session keeps that wait at 2 s instead of the default 9 s.
    broker = kafka_factory(overrides={"broker.session.timeout.ms": "2000", "broker.heartbeat.interval.ms": "500"})
    topic = _name("durable")
    create_topics(broker.bootstrap, [topic], partitions=1)
    produce(broker.bootstrap, topic, ["before-stop"])
    broker.restart()
    assert read_all(broker.bootstrap, topic, partitions=1, expect=1) == [b"1"]

    produce(broker.bootstrap, topic, ["before-kill"])
    broker.kill()
    assert not broker.running
    broker.start()
    assert len(read_all(broker.bootstrap, topic, partitions=1, expect=2)) == 2


@pytest.mark.timeout(180)
def test_cli_background_start_status_stop(tmp_path: Path) -> None:
    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "stack.kafka", *args, "--data-dir", str(tmp_path / "k")],
            cwd=REPO, capture_output=True, text=True, timeout=150, check=False,
        )

    port = str(free_port())
    started = cli("start", "--background", "--port", port)
    try:
        assert started.returncode == 0, started.stderr
        assert f"127.0.0.1:{port}" in started.stdout
        assert cli("status").returncode == 0
    finally:
        stopped = cli("stop")
    assert stopped.returncode == 0 and "stopped" in stopped.stdout
    assert cli("status").returncode == 1
