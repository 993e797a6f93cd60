"""What the benchmarks share: CPU and memory from /proc, percentiles, a watcher of the message-state
topic, a producer of SendRequests, a stream worker pipeline without the sink, py-spy recordings and a
throw-away broker and registry (`local_stack`).

The benchmark modules (stack.bench, stack.e2ebench, stack.workerbench, stack.gatewaybench, stack.sinkbench)
import it; it imports none of them.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from schemas.phi import Binding, PhiCipher, Pseudonymizer
from schemas.registry import ConfluentRegistry
from schemas.settings import Settings
from schemas.topics import Catalog
from stack.javaproc import free_port
from stack.kafka import LocalKafka
from stack.pipeline import Pipeline, Ports
from stack.registry import LocalRegistry

TICKS = os.sysconf("SC_CLK_TCK")
PARAMS = {"patient_name": "Ana", "clinic": "Clinica Norte", "date": "2 dic", "time": "10:30"}
CHANNELS = ["WHATSAPP", "SMS", "VOICE"]


def stat_cpu(stat: str) -> tuple[str, float]:
    """(name, CPU seconds: utime + stime) from a /proc stat line, of a process or of one of its threads."""
    name, rest = stat.split(" (", 1)[1].rsplit(")", 1)
    fields = rest.split()
    return name, (int(fields[11]) + int(fields[12])) / TICKS


def cpu_seconds(pid: int) -> float:
    return stat_cpu(Path(f"/proc/{pid}/stat").read_text())[1]


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass
class Tracker:
    """Watches the message-state topic and notes when each of our messages was first seen sent,
    delivered and final."""

    accepted_at: dict[str, float] = field(default_factory=dict)
    sent_at: dict[str, float] = field(default_factory=dict)
    delivered_at: dict[str, float] = field(default_factory=dict)
    final: dict[str, str] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None  # why `run` ended early: a silent watcher would read as "lost"

    def run(self, bootstrap: str, catalog: Catalog) -> None:
        try:
            self._run(bootstrap, catalog)
        except BaseException as exc:
            self.error = exc
            raise

    def _run(self, bootstrap: str, catalog: Catalog) -> None:
        topic = catalog.message_state
        consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-{uuid.uuid4()}",
                             "enable.auto.commit": False, "auto.offset.reset": "earliest"})
        consumer.subscribe([topic.name])
        while not self.stop.is_set():
            for msg in consumer.consume(2000, 0.2):
                value = msg.value()
                if msg.error() is not None or value is None:
                    continue
                now = time.monotonic()
                state = topic.codec.decode(value)
                mid = state["message_id"]
                statuses = {h["status"] for h in state["history"]}
                if statuses & {"sent", "delivered", "read"}:
                    self.sent_at.setdefault(mid, now)
                if statuses & {"delivered", "read"}:
                    self.delivered_at.setdefault(mid, now)
                if state["is_final"]:
                    self.final.setdefault(mid, state["status"])
        consumer.close()


def produce_requests(settings: Settings, catalog: Catalog, n: int, run: str, rate: float = 0) -> set[str]:
    """N SendRequests straight to send.requests, keyed and partitioned as any producer would
    (murmur2), `rate` per second (0: at once); returns their message ids."""
    seal = PhiCipher(settings.phi_keys).seal  # bound to each request (schemas.phi.RECORD_IDS)
    pseudonym = Pseudonymizer(settings.pseudonym_key_bytes)
    topic = catalog.send_requests
    producer = Producer({"bootstrap.servers": settings.kafka.bootstrap, "partitioner": "murmur2_random",
                         "linger.ms": 5})
    params_text = json.dumps(PARAMS)
    ids: set[str] = set()
    now = int(time.time() * 1000)
    start = time.monotonic()
    for i in range(n):
        if rate > 0:
            time.sleep(max(0.0, start + i / rate - time.monotonic()))
            producer.poll(0)
        number = f"+5255{i:08d}"  # canonical (schemas.numbers): the form the webhooks pseudonymize
        mid = str(uuid.uuid4())
        rid = pseudonym("demo-clinic", number)
        bound = Binding("demo-clinic", mid)
        record = {"message_id": mid, "organization_id": "demo-clinic", "idempotency_key": f"{run}-{i}",
                  "recipient": seal("recipient", number, bound), "recipient_id": rid, "patient_ref": None,
                  "recipient_name": None, "channels": CHANNELS,
                  "content": {"template": "appointment_reminder", "language": "es",
                              "params": seal("params", params_text, bound), "text": None},
                  "priority": "NORMAL", "send_at": None, "expires_at": None, "correlation_id": None,
                  "appointment_id": None, "created_at": now, "source": "producer", "automated_reply": False,
                  "metadata": {}}
        while True:
            try:
                producer.produce(topic.name, key=rid.encode(), value=topic.codec.encode(record))
                break
            except BufferError:
                producer.poll(0.01)
        ids.add(mid)
    producer.flush(60)
    return ids


def wait_for_coordinator(bootstrap: str, timeout: float = 90) -> None:
    """A fresh broker creates and loads its group-offsets topic on the first group: do that before
    the worker joins (a worker meeting "coordinator not available" at start can spin on metadata)."""
    topic = f"bench-warm-{uuid.uuid4().hex[:6]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(30)
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-{uuid.uuid4()}"})
    consumer.subscribe([topic])
    deadline = time.monotonic() + timeout
    try:
        while not consumer.assignment():
            if time.monotonic() > deadline:
                raise RuntimeError(f"the broker's group coordinator did not answer within {timeout:.0f} s")
            consumer.poll(0.5)
    finally:
        consumer.close()


def wait_final(tracker: Tracker, ids: set[str], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ids <= set(tracker.final):
            return True
        if tracker.error is not None:
            raise RuntimeError("the message-state watcher stopped") from tracker.error
        time.sleep(0.2)
    return False


class Spy:
    """py-spy recording one process (GIL-holding samples, collapsed stacks) while in a `with` block."""

    def __init__(self, pid: int, out: Path | None) -> None:
        self.pid, self.out = pid, out
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Spy:
        if self.out is not None:
            pyspy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or "py-spy"
            self.proc = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
                [pyspy, "record", "--pid", str(self.pid), "--rate", "100", "--format", "raw", "--function",
                 "--nonblocking", "--gil", "-o", str(self.out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@dataclass
class WorkerRun:
    """A running pipeline without the analytics sink, and a tracker of its message-state topic."""

    pipe: Pipeline
    settings: Settings
    catalog: Catalog
    tracker: Tracker


@contextmanager
def worker_pipeline(kafka: str, registry: str, data: Path) -> Iterator[WorkerRun]:
    """Simulator, gateway and one stream worker on fresh topics; no sink, no AI agent."""
    prefix = f"benchw{uuid.uuid4().hex[:6]}."
    env = {"CARELAY_KAFKA_BOOTSTRAP": kafka, "CARELAY_SCHEMA_REGISTRY_URL": registry,
           "CARELAY_TOPIC_PREFIX": prefix, "CARELAY_LOG_LEVEL": "WARNING",
           "CARELAY_LIMIT_RECIPIENT_HOUR": "1000", "CARELAY_LIMIT_RECIPIENT_DAY": "1000",
           "CARELAY_LIMIT_ORG_PER_SECOND": "100000", "CARELAY_META_PER_SECOND": "100000",
           "CARELAY_CARE_QUIET_HOURS": "00:00-00:00",
           # a slow simulator on a loaded machine must not send the run down the fallback paths
           "CARELAY_BREAKER_FAILURES": "100000"}
    pipe = Pipeline(env, data, ports=Ports.free(), workers=1, scenario="none", analytics=False, ai_agent=False)
    reg = ConfluentRegistry(registry)
    tracker = Tracker()
    try:
        wait_for_coordinator(kafka)
        pipe.start()
        catalog = Catalog(prefix, reg)
        threading.Thread(target=tracker.run, args=(kafka, catalog), daemon=True).start()
        yield WorkerRun(pipe, Settings.from_env(pipe.env), catalog, tracker)
    finally:
        tracker.stop.set()
        pipe.stop()
        reg.close()


def top_frames(collapsed: str, limit: int = 40) -> str:
    """py-spy's raw (collapsed stacks) output as the functions with the most samples (GIL held), by own time
    (the innermost frame) and by total time (anywhere on the stack)."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = stack.split(";")
        samples += n
        own[frames[-1]] += n
        for frame in set(frames):
            total[frame] += n
    lines = [f"{samples} samples", "", "own time:"]
    lines += [f"{c / samples:6.1%}  {f}" for f, c in own.most_common(limit)]
    lines += ["", "total time:"]
    lines += [f"{c / samples:6.1%}  {f}" for f, c in total.most_common(limit)]
    return "\n".join(lines) + "\n"


@contextmanager
def local_stack() -> Iterator[tuple[Path, LocalKafka, LocalRegistry]]:
    """A throw-away broker and registry in a temporary directory (with its root, for the pipeline's data)."""
    with tempfile.TemporaryDirectory(prefix="carelay-bench-") as tmp:
        root = Path(tmp)
        kafka = LocalKafka(root / "kafka", port=free_port())
        registry = LocalRegistry(root / "registry", port=free_port())
        try:
            kafka.start()
            registry.start()
            yield root, kafka, registry
        finally:
            registry.stop()
            kafka.stop()
