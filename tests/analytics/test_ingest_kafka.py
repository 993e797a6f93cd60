"""The sink on the real broker and registry: every event type arrives, figures match, no PHI is stored,
a kill between insert and commit double-counts nothing, and an unavailable store loses nothing."""
from __future__ import annotations

import struct
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer

from analytics.exceptions import StoreUnavailable
from analytics.ingest import DeadLetters, Sink
from analytics.migrations import migrate
from analytics.service import consumer_config
from analytics.store import Store, open_client
from schemas.settings import AnalyticsSettings, ClickHouseSettings, Settings
from tests.analytics import figures
from tests.analytics.kafkatools import SinkProcess, Stack, expected_event_keys, wait_for
from tests.analytics.scenario import Scenario, build

pytestmark = pytest.mark.kafka
ANALYST_KEY = "demo-clinic-analyst-key"
UNKNOWN_SCHEMA_ID = struct.pack(">bI", 0, 987_654) + b"\x02x"


def complete(q: figures.HttpStore | Store, sc: Scenario, extra_dead_letters: int = 0) -> bool:
    """Everything the scenario produced has arrived (the waits; the assertions are check_figures)."""
    want = expected_event_keys(sc.records) + extra_dead_letters
    got = q.query("SELECT count() FROM events FINAL").rows[0][0]
    states = q.query("SELECT count() FROM message_state FINAL").rows[0][0]
    return bool(got == want and states == sc.messages)


@pytest.fixture(scope="module")
def stack(kafka: Any, registry: Any) -> Iterator[Stack]:
    shared = Stack(kafka.bootstrap, registry.url)
    yield shared
    shared.close()


@pytest.fixture(scope="module")
def running(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SinkProcess, Scenario]]:
    """One sink process fed the whole scenario plus two records it cannot decode."""
    sc = build(messages=40)
    requests = stack.topic("SendRequest")
    stack.produce(sc.records, raw=[(requests, b"not avro at all"), (requests, UNKNOWN_SCHEMA_ID)])
    work = tmp_path_factory.mktemp("sink")
    proc = SinkProcess(stack, work / "chdb", work / "sink.log").start()
    try:
        proc.wait_healthy()
        q = figures.HttpStore(proc.url, ANALYST_KEY)
        wait_for(lambda: complete(q, sc, extra_dead_letters=2), 90, "every record in ClickHouse")
        yield proc, sc
        q.close()
    finally:
        code = proc.terminate()
    assert code == 0, proc.log()[-4000:]
    assert "Traceback" not in proc.log(), proc.log()[-4000:]


def test_every_event_type_arrives_and_the_figures_match(running):
    proc, sc = running
    q = figures.HttpStore(proc.url, ANALYST_KEY)
    figures.check_figures(q, sc)
    types = {r[0] for r in q.query("SELECT DISTINCT event_type FROM events").rows}
    assert types == {"request.accepted", "dispatch.attempt", "fallback.hop", "provider.status", "delivery.outcome",
                     "consent.change", "inbound.message", "dead.letter", "appointment.confirmed",
                     "appointment.cancel_requested", "staff.attention_needed"}
    # the analysts' own queries are audited through Kafka into audit_log, by this same process
    wait_for(lambda: q.query("SELECT count() FROM audit_log WHERE action = 'analytics.sql' "
                             "AND actor = 'demo-analyst' AND outcome = 'allowed'").rows[0][0] > 0,
             30, "the analysts' queries in audit_log")
    q.close()


def test_undecodable_records_are_dead_lettered_counted_and_skipped(running, stack: Stack):
    proc, _ = running
    q = figures.HttpStore(proc.url, ANALYST_KEY)
    rows = q.query("SELECT error_code, reason FROM events FINAL WHERE event_type = 'dead.letter'").rows
    requests = stack.topic("SendRequest")
    # compared as sets of rows: the two `undecodable` rows tie on any key but the random topic prefix
    assert sorted(rows) == sorted([("undecodable", "carelay.send.requests"), ("undecodable", requests),
                                   ("unknown_schema", requests)])
    health = proc.health()
    assert health is not None and health["dead_letters"] == 2 and health["status"] == "ok"
    # the dead-letter topic has them whole, for replay once fixed
    consumer = Consumer({"bootstrap.servers": stack.bootstrap, "group.id": f"dlq-{stack.group}",
                         "auto.offset.reset": "earliest"})
    consumer.subscribe([stack.topic("DeadLetter")])
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + 30
    while len(seen) < 3 and time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is not None and msg.error() is None:
            seen.append(stack.catalog.dead_letter.codec.decode(msg.value()))
    consumer.close()
    mine = sorted((d["reason"], d["value"]) for d in seen if d["source_topic"] == requests)
    assert mine == [("undecodable", b"not avro at all"), ("unknown_schema", UNKNOWN_SCHEMA_ID)]
    q.close()


def test_no_column_of_any_table_holds_clear_phi(running):
    proc, sc = running
    q = figures.HttpStore(proc.url, ANALYST_KEY)
    columns = q.query("SELECT table, name, type FROM system.columns WHERE database = currentDatabase() "
                      "AND table NOT LIKE '.inner%' ORDER BY table, name").rows
    assert len(columns) > 60
    needles = sorted(sc.clear_phi)
    assert len(needles) == 4 * sc.messages
    scanned = 0
    for table, column, _type in columns:  # every column, cast to text: String, Map, Array, Nullable alike
        for i in range(0, len(needles), 200):  # multiSearchAny takes at most 255 needles
            hits = q.query(f"SELECT count() FROM `{table}` WHERE multiSearchAny(toString(`{column}`), "
                           "{needles:Array(String)})", {"needles": needles[i:i + 200]}).rows[0][0]
            assert hits == 0, (table, column)
        scanned += 1
    string_columns = [c for c in columns if "String" in c[2]]
    assert scanned == len(columns) and len(string_columns) > 40
    # and the scan does find a value that is stored: the pseudonyms
    assert q.query("SELECT count() FROM events WHERE multiSearchAny(toString(recipient_id), {n:Array(String)})",
                   {"n": [sc.of_type("SendRequest")[0]["recipient_id"]]}).rows[0][0] > 0
    q.close()


def test_kill_between_insert_and_commit_does_not_double_count(stack: Stack, tmp_path: Path):
    own = stack.fresh()
    sc = build(messages=30, seed=11)
    half = len(sc.records) // 2
    own.produce(sc.records[:half])
    marker = tmp_path / "crashed"
    crashing = SinkProcess(own, tmp_path / "chdb", tmp_path / "sink.log", CARELAY_TEST_CRASH_MARKER=str(marker))
    crashing.start("tests.analytics.crashing_sink")
    code = crashing.wait_exit(90)
    assert code == -9, crashing.log()[-4000:]
    assert int(marker.read_text()) > 0  # it had inserted rows when it died
    assert own.committed() == {}  # ... and committed nothing
    own.produce(sc.records[half:])
    sink = SinkProcess(own, tmp_path / "chdb", tmp_path / "sink.log").start()
    try:
        sink.wait_healthy()
        q = figures.HttpStore(sink.url, ANALYST_KEY)
        wait_for(lambda: complete(q, sc), 90, "every record after the restart")
        health = sink.health()
        # it re-read what the dead process had already inserted (nothing was committed) ...
        assert health is not None and health["consumed"] >= len(sc.records)
        figures.check_rates(q, sc)  # ... and no figure counts it twice
        figures.check_paths(q, sc)
        figures.check_consent_cost_appointments(q, sc)
        figures.check_tables(q, sc)
        assert q.query("SELECT count() FROM message_state FINAL").rows[0][0] == sc.messages
        wait_for(lambda: own.committed() == own.end_offsets(), 30, "offsets committed to the end")
        q.close()
    finally:
        assert sink.terminate() == 0, sink.log()[-4000:]


class FlakyStore:
    """A real store whose inserts fail while `down` is set, as when a ClickHouse server is unreachable."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.down = threading.Event()
        self.failed = 0

    def insert(self, table: str, rows: Any, columns: Any, *, token: str | None = None) -> None:
        if self.down.is_set():
            self.failed += 1
            raise StoreUnavailable("connection refused (simulated)")
        self.store.insert(table, rows, columns, token=token)


@contextmanager
def sink_thread(own: Stack, store: Any, cfg: AnalyticsSettings, conf: dict[str, Any]) -> Iterator[Sink]:
    """A Sink over consumers built from `conf`, running on a thread of its own until the block ends."""
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": own.bootstrap})
    sink = Sink(lambda: Consumer(conf), store, own.catalog, DeadLetters(producer, own.catalog.dead_letter), cfg)
    thread = threading.Thread(target=sink.run, daemon=True)
    thread.start()
    try:
        yield sink
    finally:
        sink.stop()
        thread.join(30)
        producer.flush(5)
    assert not thread.is_alive()


def test_an_unavailable_store_pauses_consumption_and_loses_nothing(stack: Stack, tmp_path: Path):
    own = stack.fresh()
    ch = ClickHouseSettings(path=str(tmp_path / "chdb"))
    store = open_client(ch)
    migrate(store, ch)
    flaky = FlakyStore(store)
    flaky.down.set()
    cfg = AnalyticsSettings(group_id=own.group, batch_interval_s=0.2, retry_initial_s=0.05, retry_max_s=0.4)
    conf = {"bootstrap.servers": own.bootstrap, "group.id": own.group, "enable.auto.commit": False,
            "auto.offset.reset": "earliest"}
    sc = build(messages=30, seed=5)
    half = len(sc.records) // 2
    own.produce(sc.records[:half])
    try:
        with sink_thread(own, flaky, cfg, conf) as sink:
            wait_for(lambda: sink.stats.paused_since is not None and flaky.failed >= 3, 60, "the sink to pause")
            consumed_while_down = sink.stats.consumed
            own.produce(sc.records[half:])  # arrives while paused: must wait in Kafka, not in memory
            time.sleep(2)
            assert sink.stats.consumed == consumed_while_down
            assert own.committed() == {}
            flaky.down.clear()
            wait_for(lambda: complete(store, sc), 60, "every record once the store is back")
            figures.check_figures(store, sc)
            wait_for(lambda: own.committed() == own.end_offsets(), 30, "offsets committed to the end")
            assert sink.stats.paused_since is None and sink.stats.insert_failures >= 3
    finally:
        store.close()


def test_a_fenced_consumer_is_replaced_and_loses_nothing(stack: Stack, tmp_path: Path):
    """librdkafka fails a static member fatally once the broker fences its group.instance.id (after a
    broker restart that outlasted its session it rejoins and fences itself; here another consumer joins
    under the same id). A fatally failed consumer never reads again: the sink must replace it."""
    own = stack.fresh()
    ch = ClickHouseSettings(path=str(tmp_path / "chdb"))
    store = open_client(ch)
    migrate(store, ch)
    settings = Settings.from_env({"CARELAY_KAFKA_BOOTSTRAP": own.bootstrap, "CARELAY_ANALYTICS_GROUP_ID": own.group})
    cfg = replace(settings.analytics, batch_interval_s=0.2, retry_initial_s=0.05, retry_max_s=0.4)
    conf = consumer_config(settings, cfg)
    assert "group.instance.id" in conf  # the production configuration: a static member
    sc = build(messages=30, seed=7)
    half = len(sc.records) // 2
    own.produce(sc.records[:half])
    try:
        with sink_thread(own, store, cfg, conf) as sink:
            wait_for(lambda: own.committed() == own.end_offsets(), 60, "the first half committed")
            intruder = Consumer(conf)
            intruder.subscribe(sink.topic_names)
            try:
                wait_for(lambda: intruder.poll(0.2) is not None or bool(intruder.assignment()), 60,
                         "the intruder to take the static id")
                wait_for(lambda: sink.stats.consumer_reopens > 0, 60, "the sink to replace its fenced consumer")
            finally:
                intruder.close()
            own.produce(sc.records[half:])
            wait_for(lambda: complete(store, sc), 90, "every record, the second half read by the new consumer")
            figures.check_figures(store, sc)
            wait_for(lambda: own.committed() == own.end_offsets(), 30, "offsets committed to the end")
    finally:
        store.close()


def test_throughput_kafka_to_clickhouse(stack: Stack, tmp_path: Path, capsys: pytest.CaptureFixture):
    """Measured, not tuned: decode + map + insert of delivery outcomes at the default batch size."""
    from confluent_kafka import Producer

    own = stack.fresh()
    outcome = build(messages=5).of_type("DeliveryOutcome")[0]
    n = 60_000
    bound = own.catalog.outcomes
    producer = Producer({"bootstrap.servers": own.bootstrap, "linger.ms": 20, "batch.num.messages": 10_000})
    for i in range(n):
        rec = outcome | {"event_id": f"tp-{i}", "message_id": f"m-{i // 3}"}
        producer.produce(bound.name, key=str(i % 97).encode(), value=bound.codec.encode(rec))
        if i % 10_000 == 0:
            producer.poll(0)
    assert producer.flush(60) == 0
    ch = ClickHouseSettings(path=str(tmp_path / "chdb"))
    store = open_client(ch)
    migrate(store, ch)
    conf = {"bootstrap.servers": own.bootstrap, "group.id": own.group, "enable.auto.commit": False,
            "auto.offset.reset": "earliest"}
    sink = Sink(lambda: Consumer(conf), store, own.catalog, DeadLetters(producer, own.catalog.dead_letter),
                AnalyticsSettings(group_id=own.group))
    thread = threading.Thread(target=sink.run, daemon=True)
    thread.start()
    try:
        first = wait_for(lambda: sink.stats.consumed > 0 and time.perf_counter(), 60, "the first record")
        wait_for(lambda: sink.stats.rows_inserted >= n, 120, "every row inserted", interval=0.05)
        elapsed = time.perf_counter() - first
        assert store.query("SELECT count() FROM events FINAL").rows[0][0] == n
        with capsys.disabled():
            print(f"\nanalytics sink: {n} records Kafka→ClickHouse in {elapsed:.2f}s = {n / elapsed:,.0f} rows/s "
                  f"end to end ({sink.stats.batches} batches; last insert {sink.stats.last_insert_rows_per_s:,.0f}"
                  " rows/s)")
        assert n / elapsed > 5_000
    finally:
        sink.stop()
        thread.join(30)
        store.close()
