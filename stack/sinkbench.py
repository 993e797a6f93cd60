"""`python -m stack.bench --sink-only`: the analytics sink's CPU per record, alone and repeatable.

1. Capture: the pipeline without the sink (as `--worker-only`: N send requests straight to
   send.requests, the simulator's callbacks through the gateway) takes N WhatsApp lifecycles to a
   final state; every record the sink would read is then copied out of its topics (raw bytes, with
   partition and the schema text of its id). `--capture FILE` keeps them, so that a later run (the
   code before and after a change) replays the very same records instead of capturing anew.
2. Replay, `--repeat` times: a fresh sink process (`python -m analytics.service` with its own chdb,
   topics and group) is started and left idle; then the records are produced onto its topics in
   their original order at `--rate` lifecycles per second. The sink's CPU time (utime + stime)
   from the first record until it has committed the last offset, divided by the records and by the
   lifecycles, is the figure. CPU time, not wall time, so other load on the machine moves it little.
"""
from __future__ import annotations

import base64
import json
import shutil
import struct
import sys
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from analytics.ingest import SOURCE_TOPICS
from schemas import contracts
from schemas.registry import ConfluentRegistry
from schemas.settings import Settings
from schemas.topics import TOPICS, Catalog, ensure_topics
from stack.benchkit import Spy, cpu_seconds, produce_requests, stat_cpu, top_frames, wait_final, worker_pipeline
from stack.pipeline import Pipeline, Ports

SCHEMA_ID = struct.Struct(">I")  # bytes 1-4 of the Confluent wire format


def thread_cpu(pid: int) -> dict[int, tuple[str, float]]:
    """Thread id -> (name, CPU seconds) of a live process: Python threads, librdkafka's rdk:*, chdb's pools."""
    out: dict[int, tuple[str, float]] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            out[int(task.name)] = stat_cpu(task.joinpath("stat").read_text())
        except (FileNotFoundError, ProcessLookupError):
            continue  # the thread ended meanwhile
    return out


def cpu_by_thread_name(before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]]) -> dict[str, float]:
    """CPU spent between two snapshots, per thread name. By thread id first: chdb renames the threads that
    run its queries (the main thread is "python" at start and not afterwards). Threads that ended are missed."""
    out: dict[str, float] = defaultdict(float)
    for tid, (name, cpu) in after.items():
        out[name] += cpu - before.get(tid, (name, 0.0))[1]
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


@dataclass(frozen=True)
class Record:
    attr: str  # the catalog attribute of its topic (analytics.ingest.SOURCE_TOPICS)
    partition: int
    key: bytes | None
    value: bytes | None


@dataclass
class Capture:
    lifecycles: int
    records: list[Record]  # in the order they were written (broker timestamps)
    schemas: dict[int, str]  # schema id -> text, to re-register on another registry

    def save(self, path: Path) -> None:
        def b64(raw: bytes | None) -> str | None:
            return None if raw is None else base64.b64encode(raw).decode()
        path.write_text(json.dumps({
            "lifecycles": self.lifecycles, "schemas": {str(k): v for k, v in self.schemas.items()},
            "records": [[r.attr, r.partition, b64(r.key), b64(r.value)] for r in self.records],
        }))

    @classmethod
    def load(cls, path: Path) -> Capture:
        doc = json.loads(path.read_text())

        def raw(text: str | None) -> bytes | None:
            return None if text is None else base64.b64decode(text)
        return cls(doc["lifecycles"], [Record(a, p, raw(k), raw(v)) for a, p, k, v in doc["records"]],
                   {int(k): v for k, v in doc["schemas"].items()})


def capture(kafka: str, registry: str, data: Path, n: int, rate: float) -> Capture:
    with worker_pipeline(kafka, registry, data) as run:
        ids = produce_requests(run.settings, run.catalog, n, uuid.uuid4().hex[:8], rate)
        if not wait_final(run.tracker, ids, 120 + n / 10):
            raise RuntimeError(f"capture: {len(ids - set(run.tracker.final))} of {n} messages never final")
        time.sleep(3)  # the last callbacks, outcomes and audit records
        reg = ConfluentRegistry(registry)
        try:
            records = _copy(kafka, run.catalog)
            ids_seen = {SCHEMA_ID.unpack_from(r.value, 1)[0] for r in records if r.value and len(r.value) >= 5}
            schemas = {i: reg.schema_text(i) for i in ids_seen}
        finally:
            reg.close()
    return Capture(n, records, schemas)


def _copy(kafka: str, catalog: Catalog) -> list[Record]:
    """Every record of the sink's topics, from the beginning to the end offsets, in write order."""
    consumer = Consumer({"bootstrap.servers": kafka, "group.id": f"bench-{uuid.uuid4()}",
                         "enable.auto.commit": False, "enable.partition.eof": False})
    try:
        attr_of = {getattr(catalog, a).name: a for a in SOURCE_TOPICS}
        ends: dict[tuple[str, int], int] = {}
        meta = consumer.list_topics(timeout=10)
        for name in attr_of:
            for p in meta.topics[name].partitions:
                _, high = consumer.get_watermark_offsets(TopicPartition(name, p), timeout=10)
                if high > 0:
                    ends[(name, p)] = high
        consumer.assign([TopicPartition(t, p, OFFSET_BEGINNING) for t, p in ends])
        stamped: list[tuple[int, Record]] = []
        left = sum(ends.values())
        deadline = time.monotonic() + 120
        while left > 0 and time.monotonic() < deadline:
            for msg in consumer.consume(10_000, 1.0):
                if msg.error() is not None:
                    continue
                name, part = str(msg.topic()), int(msg.partition() or 0)
                stamped.append((msg.timestamp()[1], Record(attr_of[name], part, msg.key(), msg.value())))
                left -= 1
        if left > 0:
            raise RuntimeError(f"capture: {left} records could not be read back")
        stamped.sort(key=lambda s: s[0])  # stable: one partition's records keep their order
        return [r for _, r in stamped]
    finally:
        consumer.close()


def replay(kafka: str, registry: str, data: Path, cap: Capture, rate: float, profile: Path | None) -> dict[str, Any]:
    """One fresh sink fed the captured records at `rate` lifecycles per second; its CPU per record."""
    prefix = f"benchs{uuid.uuid4().hex[:6]}."
    group = f"bench-sink-{uuid.uuid4().hex[:6]}"
    env = {"CARELAY_KAFKA_BOOTSTRAP": kafka, "CARELAY_SCHEMA_REGISTRY_URL": registry,
           "CARELAY_TOPIC_PREFIX": prefix, "CARELAY_LOG_LEVEL": "WARNING", "CARELAY_ANALYTICS_GROUP_ID": group}
    pipe = Pipeline(env, data, ports=Ports.free(), workers=0, analytics=True, ai_agent=False)
    settings = Settings.from_env(pipe.env)
    reg = ConfluentRegistry(registry)
    try:
        catalog = Catalog(prefix, reg)
        ensure_topics(AdminClient({"bootstrap.servers": kafka}), prefix, settings.kafka.partitions, 1,
                      topics=[getattr(TOPICS, a) for a in SOURCE_TOPICS])
        values = _rebind(cap, catalog, reg)
        proc = pipe.start_one("analytics")
        assert proc.pid is not None
        pid = proc.pid
        time.sleep(5)  # joined its group, assigned, polling an empty backlog
        idle0 = cpu_seconds(pid)
        time.sleep(5)
        idle = (cpu_seconds(pid) - idle0) / 5
        with Spy(pid, profile):
            cpu0, t0, threads0 = cpu_seconds(pid), time.monotonic(), thread_cpu(pid)
            ends = _produce(kafka, cap, catalog, values, rate)
            _wait_committed(kafka, group, ends, 300)
            t1 = time.monotonic()
            cpu1, threads = cpu_seconds(pid), cpu_by_thread_name(threads0, thread_cpu(pid))
        health = httpx.get(f"{pipe.analytics_url}/v1/health", timeout=10).json()
    finally:
        pipe.stop()
        reg.close()
    records = len(cap.records)
    cpu = cpu1 - cpu0
    return {"records": records, "lifecycles": cap.lifecycles, "rate": rate, "seconds": t1 - t0, "sink_cpu_s": cpu,
            "us_per_record": cpu * 1e6 / records, "ms_per_lifecycle": cpu * 1000 / cap.lifecycles,
            "idle_ms_per_s": idle * 1000, "rows_inserted": health["rows_inserted"], "batches": health["batches"],
            "dead_letters": health["dead_letters"],
            "threads_cpu_s": {name: round(sec, 2) for name, sec in list(threads.items())[:6] if sec > 0}}


def _rebind(cap: Capture, catalog: Catalog, reg: ConfluentRegistry) -> list[bytes | None]:
    """The values with their schema ids as registered under the replay topics' subjects."""
    new_id: dict[tuple[str, int], bytes] = {}
    out: list[bytes | None] = []
    for r in cap.records:
        if r.value is None or len(r.value) < 5:
            out.append(r.value)
            continue
        old = SCHEMA_ID.unpack_from(r.value, 1)[0]
        header = new_id.get((r.attr, old))
        if header is None:
            codec = getattr(catalog, r.attr).codec
            # the current contract keeps the codec's own id, as for the pipeline's producers (no schema resolution)
            same = json.loads(cap.schemas[old]) == json.loads(contracts.schema_text(codec.type_name))
            sid = codec.schema_id if same else reg.register(codec.subject, cap.schemas[old])
            header = new_id[(r.attr, old)] = b"\x00" + SCHEMA_ID.pack(sid)
        out.append(header + r.value[5:])
    return out


def _produce(kafka: str, cap: Capture, catalog: Catalog, values: list[bytes | None],
             rate: float) -> dict[tuple[str, int], int]:
    """Produce in capture order at `rate` lifecycles/s (0: at once); the end offset of each partition."""
    producer = Producer({"bootstrap.servers": kafka, "linger.ms": 5, "enable.idempotence": True})
    per_record = cap.lifecycles / (rate * len(cap.records)) if rate > 0 else 0.0
    start = time.monotonic()
    for i, (r, value) in enumerate(zip(cap.records, values, strict=True)):
        if per_record and i % 50 == 0:
            time.sleep(max(0.0, start + i * per_record - time.monotonic()))
        while True:
            try:
                producer.produce(getattr(catalog, r.attr).name, key=r.key, value=value, partition=r.partition)
                break
            except BufferError:
                producer.poll(0.01)
        producer.poll(0)
    if producer.flush(60):
        raise RuntimeError("replay: records not delivered to the broker")
    consumer = Consumer({"bootstrap.servers": kafka, "group.id": f"bench-{uuid.uuid4()}"})
    try:
        ends = {}
        for name, part in {(getattr(catalog, r.attr).name, r.partition) for r in cap.records}:
            ends[(name, part)] = consumer.get_watermark_offsets(TopicPartition(name, part), timeout=10)[1]
        return ends
    finally:
        consumer.close()


def _wait_committed(kafka: str, group: str, ends: dict[tuple[str, int], int], timeout: float) -> None:
    consumer = Consumer({"bootstrap.servers": kafka, "group.id": group})
    try:
        deadline = time.monotonic() + timeout
        parts = [TopicPartition(t, p) for t, p in ends]
        while time.monotonic() < deadline:
            done = {(tp.topic, tp.partition): tp.offset for tp in consumer.committed(parts, timeout=10)}
            if all(done.get(k, -1) >= end for k, end in ends.items()):
                return
            time.sleep(0.2)
        raise RuntimeError(f"replay: the sink did not commit every record within {timeout:.0f} s")
    finally:
        consumer.close()


def report(runs: list[dict[str, Any]], machine: str) -> str:
    first = runs[0]
    lines = [f"carelay sink-only bench  {machine}", "",
             f"records              {first['records']:,} ({first['records'] / first['lifecycles']:.1f} per lifecycle, "
             f"{first['lifecycles']:,} lifecycles) replayed at {first['rate']:g} lifecycles/s"]
    for i, r in enumerate(runs, 1):
        lines.append(f"run {i:<16} sink CPU {r['sink_cpu_s']:.2f} s = {r['us_per_record']:.1f} µs per record "
                     f"= {r['ms_per_lifecycle']:.3f} ms per lifecycle   ({r['seconds']:.1f} s, idle "
                     f"{r['idle_ms_per_s']:.1f} ms/s, {r['rows_inserted']:,} rows in {r['batches']} batches, "
                     f"{r['dead_letters']} dead letters)")
        lines.append("    by thread        " + ", ".join(f"{k} {v:.2f} s" for k, v in r["threads_cpu_s"].items()))
    per = sorted(r["us_per_record"] for r in runs)
    lines.append(f"median               {per[len(per) // 2]:.1f} µs per record")
    return "\n".join(lines)


def main(args: Any, machine: str, root: Path, kafka: str, registry: str) -> int:
    """`args`: stack.bench's options (messages, rate, repeat, capture, profile, out)."""
    args.out.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    if args.capture is not None and args.capture.exists():
        cap = Capture.load(args.capture)
        print(f"sink only: {len(cap.records):,} records of {cap.lifecycles:,} lifecycles from {args.capture}",
              flush=True)
    else:
        print(f"sink only: capturing the records of {args.messages} lifecycles ...", flush=True)
        try:
            cap = capture(kafka, registry, root / "capture", args.messages, 50)
        except Exception:
            shutil.copytree(root / "capture" / "logs", args.out / f"sink-{stamp}-logs", dirs_exist_ok=True)
            print(f"logs kept in {args.out}/sink-{stamp}-logs", file=sys.stderr)
            raise
        if args.capture is not None:
            cap.save(args.capture)
    rate = args.rate or 100  # about the end-to-end run's reconciled messages per second
    runs = []
    for i in range(args.repeat):
        print(f"replay {i + 1} of {args.repeat} at {rate:g} lifecycles/s ...", flush=True)
        prof = args.out / f"sink-{stamp}-{i + 1}.raw" if args.profile else None
        runs.append(replay(kafka, registry, root / f"sink-{i}", cap, rate, prof))
        if prof is not None and prof.exists():
            prof.with_suffix(".prof.txt").write_text(top_frames(prof.read_text()))
    text = report(runs, machine)
    print("\n" + text)
    (args.out / f"sink-{stamp}.json").write_text(json.dumps({"machine": machine, "runs": runs}, indent=2))
    (args.out / f"sink-{stamp}.txt").write_text(text + "\n")
    print(f"\nwritten to {args.out}/sink-{stamp}.txt" + (f" and sink-{stamp}-*.prof.txt" if args.profile else ""))
    return 0
