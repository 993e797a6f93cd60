"""Contracts of streams.faust_adapter: one test per behaviour of faust-streaming, mode or aiokafka
that the adapter patches or relies on, each failing with the behaviour's name if an upgrade changes
it; the pins; and that no other module of carelay reaches a private name of those packages.

The behaviour of the patches themselves is tested where it matters: tests/streams/test_stream.py
(batches), tests/streams/test_transport.py (seeking, producer metadata), the chaos tests.
"""
from __future__ import annotations

import ast
import asyncio
import hashlib
import inspect
import sys
import tomllib
import uuid
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import faust
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from faust.serializers import codecs
from faust.transport.drivers import aiokafka as driver

from streams import faust_adapter as adapter
from streams.tables import add_table

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = {"faust-streaming": "faust", "mode-streaming": "mode", "aiokafka": "aiokafka"}
# sha256 of faust.Stream.take_events in faust-streaming 0.15.3, the version adapter.Stream was compared with
TAKE_EVENTS_SHA256 = "607d48aead118ba8ea868718a0df87de1c5fcecd10ec542c659b448796728e08"


def broken(behaviour: str, what: str) -> str:
    return f"{behaviour}: {what} (streams/faust_adapter.py depends on it; see its docstring)"


@asynccontextmanager
async def app_of(cls: type[faust.App] = faust.App, **kwargs: Any) -> AsyncIterator[Any]:
    app = cls(f"carelay-adapter-{uuid.uuid4().hex[:6]}", broker="kafka://127.0.0.1:1", store="memory://",
              web_enabled=False, loop=asyncio.get_running_loop(), **kwargs)
    try:
        yield app
    finally:
        if app._consumer is not None:  # made, never started: its thread's loop stays open otherwise
            adapter.close_consumer_thread_loop(app)


# -- the pins ---------------------------------------------------------------------------------------

def test_the_three_packages_are_pinned_exactly_and_installed_at_the_pins() -> None:
    requirements = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pins = {}
    for line in requirements:
        name, _, version = line.partition("==")
        if name.strip() in PACKAGES:
            pins[name.strip()] = version.strip()
    assert set(pins) == set(PACKAGES), f"PINS: pyproject.toml must pin each of {sorted(PACKAGES)} with =="
    installed = {name: metadata.version(name) for name in PACKAGES}
    assert installed == pins, broken("PINS", f"installed {installed}, pinned {pins}")


# -- TAKE_EVENTS --------------------------------------------------------------------------------------

def test_take_events_fork_matches_fausts_own() -> None:
    source = inspect.getsource(faust.Stream.take_events)
    assert hashlib.sha256(source.encode()).hexdigest() == TAKE_EVENTS_SHA256, broken(
        "TAKE_EVENTS", "faust.Stream.take_events changed: port the change into adapter.Stream.take_events, "
        "then record the new hash here")
    for name in ("_enable_passive", "_processors", "add_processor", "current_event", "enable_acks"):
        assert name in source or hasattr(faust.Stream, name), broken("TAKE_EVENTS", f"Stream.{name} is gone")
    assert "_tracks_buffer_agen" in inspect.getsource(sys.modules["faust.streams"]), broken(
        "TAKE_EVENTS", "faust.streams._tracks_buffer_agen is gone")


# -- UNTRACK ------------------------------------------------------------------------------------------

class Parked:
    """A message as the consumer tracks it (weakly referenced, so not a SimpleNamespace)."""

    tp = TopicPartition("t", 0)
    offset = 1
    acked = False
    refcount = 1


def test_untrack_lets_a_parked_message_stop_holding_up_a_rebalance() -> None:
    async def run() -> tuple[bool, bool]:
        async with app_of() as app:
            consumer = app.consumer
            message = Parked()
            consumer.track_message(message)
            held = message in consumer._unacked_messages
            adapter.untrack(app, SimpleNamespace(message=message))
            return held, message in consumer._unacked_messages

    held, still = asyncio.run(run())
    assert held, broken("UNTRACK", "Consumer.track_message no longer adds to Consumer._unacked_messages")
    assert not still, broken("UNTRACK", "a message untracked is still unacknowledged")
    waits_on = inspect.getsource(driver.Consumer.wait_empty)
    assert "_unacked_messages" in waits_on, broken("UNTRACK", "Consumer.wait_empty waits on something else")


# -- PRODUCER -----------------------------------------------------------------------------------------

def _create_topic(kafka: Any, topic: str) -> None:
    admin = AdminClient({"bootstrap.servers": kafka.bootstrap})  # held until the topic is there
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(30)


def test_fausts_producer_is_an_aiokafka_producer_with_batches(kafka) -> None:
    topic = f"t-adapter-{uuid.uuid4().hex[:8]}"
    _create_topic(kafka, topic)

    async def run() -> list[bytes]:
        app = faust.App(f"carelay-adapter-{uuid.uuid4().hex[:6]}", broker=f"kafka://{kafka.bootstrap}",
                        store="memory://", web_enabled=False, loop=asyncio.get_running_loop())
        await app.producer.start()
        try:
            producer = adapter.aiokafka_producer(app)
            assert isinstance(producer, AIOKafkaProducer), broken("PRODUCER", f"got {type(producer)}")
            await producer.client.add_topic(topic)
            batch = producer.create_batch()
            batch.append(key=b"k", value=b"v", timestamp=None)
            await (await producer.send_batch(batch, topic, partition=0))
        finally:
            await app.producer.stop()
        consumer = AIOKafkaConsumer(bootstrap_servers=kafka.bootstrap, auto_offset_reset="earliest")
        await consumer.start()
        try:
            consumer.assign([TopicPartition(topic, 0)])
            got = await consumer.getmany(timeout_ms=5000)
            return [r.value for records in got.values() for r in records]
        finally:
            await consumer.stop()

    assert asyncio.run(run()) == [b"v"], broken("PRODUCER", "a batch sent through Faust's producer did not arrive")


# -- TRANSPORT, WORKER_CONSUMER, SEEK, FETCH -------------------------------------------------------------

def test_the_adapted_app_gets_the_workers_transport_and_consumer_thread() -> None:
    async def run() -> tuple[Any, Any]:
        async with app_of(adapter.AdaptedApp) as app:
            return app.transport, app.consumer._thread

    transport, thread = asyncio.run(run())
    assert isinstance(transport, adapter.Transport), broken("TRANSPORT", "faust.App._new_transport is not used")
    assert isinstance(thread, adapter.ConsumerThread), broken(
        "WORKER_CONSUMER", "the driver's Consumer no longer makes its thread in _new_consumer_thread")


def test_the_worker_consumer_is_made_where_the_adapter_tunes_it() -> None:
    from streams.app import app

    async def created() -> tuple[int, int]:
        consumer = adapter.new_worker_consumer(app)
        try:
            return adapter.fetch_settings(consumer)
        finally:
            await consumer.stop()

    tuned = asyncio.run(created())
    assert tuned == (app.config.fetch_min_bytes, app.config.fetch_max_wait_ms), broken(
        "WORKER_CONSUMER", f"the worker's consumer fetches with {tuned}, not the configured settings")


def test_fausts_seek_to_committed_goes_through_the_consumer_thread() -> None:
    async def run() -> Any:
        async with app_of(adapter.AdaptedApp) as app:
            async def seek() -> dict[str, int]:
                return {"through": 1}

            app.consumer._thread.seek_to_committed = seek
            return await app.consumer.seek_to_committed()

    assert asyncio.run(run()) == {"through": 1}, broken(
        "SEEK", "Consumer.seek_to_committed no longer asks its thread (ConsumerThread.seek_to_committed)")
    assert hasattr(driver.AIOKafkaConsumerThread, "_ensure_consumer"), broken(
        "SEEK", "AIOKafkaConsumerThread._ensure_consumer is gone")


def test_fetch_settings_reach_the_running_fetcher_and_a_lone_record_still_arrives(kafka) -> None:
    topic = f"t-fetch-{uuid.uuid4().hex[:8]}"
    _create_topic(kafka, topic)

    async def run() -> list[bytes]:
        # Faust's own settings: the broker answers a fetch as soon as one byte is there
        consumer = AIOKafkaConsumer(bootstrap_servers=kafka.bootstrap, fetch_max_wait_ms=1500,
                                    auto_offset_reset="earliest", enable_auto_commit=False)
        producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap)
        await consumer.start()
        await producer.start()
        try:
            consumer.assign([TopicPartition(topic, 0)])
            assert adapter.tune_fetcher(consumer, 65_536, 200), broken("FETCH", "aiokafka's fetch attributes moved")
            assert adapter.fetch_settings(consumer._fetcher) == (65_536, 200), broken(
                "FETCH", "the running fetcher keeps its own settings elsewhere")
            assert adapter.fetch_settings(consumer) == (65_536, 200)
            await producer.send_and_wait(topic, b"lone", key=b"k")
            batches = await asyncio.wait_for(consumer.getmany(timeout_ms=5000), 10)
            return [r.value for records in batches.values() for r in records]
        finally:
            await producer.stop()
            await consumer.stop()

    assert asyncio.run(run()) == [b"lone"], broken("FETCH", "below min bytes, the broker must answer after max wait")


def test_an_unknown_consumer_shape_is_left_alone() -> None:
    class Other:
        pass

    other = Other()
    assert not adapter.tune_fetcher(other, 65_536, 100)
    assert not hasattr(other, "_fetch_min_bytes")


# -- CODEC, CHANGELOG ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Row:
    name: str
    count: int = 0


def test_a_registered_codec_is_what_faust_serializes_with() -> None:
    name = adapter.register_codec(f"adapter_test_{uuid.uuid4().hex[:6]}", lambda obj: b"<" + obj + b">",
                                  lambda data: data[1:-1])
    assert codecs.dumps(name, b"x") == b"<x>", broken("CODEC", "Codec.dumps no longer calls _dumps")
    assert codecs.loads(name, b"<x>") == b"x", broken("CODEC", "Codec.loads no longer calls _loads")


def test_changelog_records_written_by_the_tables_are_what_fausts_recovery_reads() -> None:
    async def run() -> tuple[dict[str, Any], dict[str, Any]]:
        async with app_of() as app:
            table = add_table(app, f"adapter{uuid.uuid4().hex[:6]}", Row, 6)
            topic = table.changelog_topic

            def events(records: list[tuple[str, bytes | None, bytes | None, int | None]]) -> list[Any]:
                out = []
                for _, key, value, partition in records:
                    message = SimpleNamespace(key=key, value=value, partition=partition)
                    out.append(SimpleNamespace(key=topic.schema.loads_key(app, message), message=message,
                                               value=None if value is None else topic.schema.loads_value(app, message)))
                return out

            table.apply_changelog_batch(events(table.records({"p1": Row("a", 1), "p2|x": Row("b", 2)})))
            written = dict(table.data)
            table.apply_changelog_batch(events(table.records({"p1": None})))
            return written, dict(table.data)

    written, after_delete = asyncio.run(run())
    assert written == {"p1": Row("a", 1), "p2|x": Row("b", 2)}, broken(
        "CHANGELOG", f"recovery read back {written} from the records the tables write")
    assert after_delete == {"p2|x": Row("b", 2)}, broken("CHANGELOG", "a tombstone no longer deletes on recovery")


# -- nothing else reaches a private name --------------------------------------------------------------

SCANNED = ("streams", "schemas", "connectors", "gateway", "analytics", "stack", "process", "access", "tests")
CONTRACT = {ROOT / "streams" / "faust_adapter.py", Path(__file__).resolve()}
# the modules of the three packages that are their public face; anything deeper is an internal class
PUBLIC_MODULES = {"faust", "faust.types", "mode", "aiokafka", "aiokafka.structs", "aiokafka.errors",
                  "aiokafka.admin", "aiokafka.partitioner"}


def _library_private_names() -> set[str]:
    """Every `_name` (not dunder) the three packages define: functions, methods, attributes they set."""
    names: set[str] = set()
    for module in PACKAGES.values():
        root = Path(__import__(module).__file__ or "").parent
        for path in root.rglob("*.py"):
            with warnings.catch_warnings():  # their invalid escape sequences are not ours to fail on
                warnings.simplefilter("ignore")
                tree = ast.parse(path.read_text(errors="replace"))
            for node in ast.walk(tree):
                name = None
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                    name = node.name
                elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                    name = node.attr
                if name and name.startswith("_") and not name.startswith("__"):
                    names.add(name)
    return names


# what the adapter itself reaches: flagged anywhere else, whatever our own code calls its attributes
ADAPTER_NAMES = {"_unacked_messages", "_ensure_producer", "_fetcher", "_fetch_min_bytes", "_fetch_max_wait_ms",
                 "_enable_passive", "_processors", "_tracks_buffer_agen", "_new_transport", "_new_consumer_thread",
                 "_create_worker_consumer", "_ensure_consumer", "_dumps", "_loads"}


def _ours(trees: list[ast.Module]) -> set[str]:
    """`_names` our code defines: attributes it sets, functions, methods of classes that are not theirs."""
    names: set[str] = set()
    for tree in trees:
        theirs = _their_classes(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
            elif (isinstance(node, ast.ClassDef) and node not in theirs) or isinstance(node, ast.Module):
                names |= {n.name for n in node.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
    return names


def _their_classes(tree: ast.Module) -> list[ast.ClassDef]:
    """Classes of this module that subclass a class of the three packages (or of the adapter)."""
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.asname or alias.name.split(".")[0] for alias in node.names
                         if alias.name.split(".")[0] in PACKAGES.values()}
        elif isinstance(node, ast.ImportFrom) and ((node.module or "").split(".")[0] in PACKAGES.values()
                                                   or node.module == "streams.faust_adapter"):
            imported |= {alias.asname or alias.name for alias in node.names}

    def root(expr: ast.expr) -> str:
        while isinstance(expr, ast.Attribute):
            expr = expr.value
        return expr.id if isinstance(expr, ast.Name) else ""

    return [node for node in ast.walk(tree)
            if isinstance(node, ast.ClassDef) and any(root(base) in imported for base in node.bases)]


def _violations(path: Path, library: set[str], ours: set[str], shown: str) -> list[str]:
    tree = ast.parse(path.read_text())
    overridden = {id(n) for c in _their_classes(tree) for n in c.body}
    # attribute names alone are ambiguous (`_value`, `_client`, `_thread` are everyone's): reads are
    # checked for the names the adapter reaches; overrides, by the class they override
    flagged = ADAPTER_NAMES - ours
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in PACKAGES.values():
            if any(a.name.startswith("_") for a in node.names) or node.module not in PUBLIC_MODULES:
                found.append(f"{shown}:{node.lineno} from {node.module} import ...")
        elif isinstance(node, ast.Import):
            found += [f"{shown}:{node.lineno} import {a.name}" for a in node.names
                      if a.name.split(".")[0] in PACKAGES.values() and a.name not in PUBLIC_MODULES]
        elif isinstance(node, ast.Attribute) and node.attr in flagged:
            found.append(f"{shown}:{node.lineno} .{node.attr}")
        elif (isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and id(node) in overridden
              and node.name in library):
            found.append(f"{shown}:{node.lineno} def {node.name} (a method of theirs overridden)")
    return found


def test_no_module_but_the_adapter_reaches_a_private_name_of_faust_mode_or_aiokafka() -> None:
    paths = [path for package in SCANNED for path in sorted((ROOT / package).rglob("*.py"))
             if path.resolve() not in CONTRACT and "vendor" not in path.parts]
    library, ours = _library_private_names(), _ours([ast.parse(path.read_text()) for path in paths])
    found = [v for path in paths for v in _violations(path, library, ours, str(path.relative_to(ROOT)))]
    assert not found, "private names of faust/mode/aiokafka outside streams/faust_adapter.py:\n" + "\n".join(found)


def test_the_scan_finds_what_it_looks_for(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("from faust.streams import _tracks_buffer_agen\nfrom faust.transport.drivers import aiokafka\n"
                      "import faust\n\n\nclass App(faust.App):\n    def _new_transport(self):\n        return None\n\n"
                      "\n"
                      "def f(app):\n    return app.consumer._unacked_messages\n")
    found = sorted(v.split(" ", 1)[1] for v in _violations(sample, _library_private_names(), set(), "sample.py"))
    assert found == sorted(["from faust.streams import ...", "from faust.transport.drivers import ...",
                            "def _new_transport (a method of theirs overridden)", "._unacked_messages"])
