"""`make bench`: carelay measured against this machine's own ceilings, in one run, as ratios.

1. Raw ceilings: the broker's own producer and consumer throughput (confluent-kafka, 500-byte
   records) and a bare Starlette endpoint under the same uvicorn as the gateway.
2. The gateway's accept path against the bare endpoint (single and batch sends, gateway.bench).
3. End to end: N single sends through the gateway into the whole pipeline (stream worker,
   provider simulator with three callbacks per message, reconciliation, analytics sink), with
   accept latency, accept -> sent and accept -> delivered latency as observed on the
   message-state topic, CPU and peak memory of each process, CPU per message of carelay's own
   processes (gateway + workers + sink), and the accounting: lost (accepted, never final) and
   duplicated (more than one delivered provider message for one request).

Results are printed as a table and written as JSON to bench-results/. Nothing here is a test:
the figures are for people to read, compare and put in the README.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from gateway import bench as gateway_bench
from schemas.registry import ConfluentRegistry
from schemas.topics import Catalog
from stack.javaproc import free_port
from stack.kafka import LocalKafka
from stack.pipeline import Pipeline, Ports
from stack.registry import LocalRegistry

ROOT = Path(__file__).resolve().parent.parent
TICKS = os.sysconf("SC_CLK_TCK")
SENDER = {"Authorization": "Bearer demo-clinic-sender-key", "Content-Type": "application/json"}
SEND = {"channels": ["WHATSAPP", "SMS", "VOICE"],
        "template": {"name": "appointment_reminder", "language": "es",
                     "params": {"patient_name": "Ana", "clinic": "Clinica Norte", "date": "2 dic", "time": "10:30"}}}


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


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


# -- raw ceilings -----------------------------------------------------------------------------

def kafka_ceiling(bootstrap: str, records: int, size: int = 500) -> dict[str, float]:
    topic = f"bench-raw-{uuid.uuid4().hex[:6]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, num_partitions=6, replication_factor=1)])[topic].result(30)
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True,
                         "linger.ms": 5, "compression.type": "lz4"})
    payload = os.urandom(size)
    start = time.perf_counter()
    for i in range(records):
        while True:
            try:
                producer.produce(topic, key=str(i % 1000).encode(), value=payload)
                break
            except BufferError:
                producer.poll(0.01)
        producer.poll(0)
    producer.flush(60)
    produced = time.perf_counter() - start
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-{uuid.uuid4()}",
                         "enable.auto.commit": False, "fetch.min.bytes": 100_000})
    consumer.assign([TopicPartition(topic, p, 0) for p in range(6)])
    got, start = 0, time.perf_counter()
    while got < records and time.perf_counter() - start < 60:
        got += sum(1 for m in consumer.consume(10_000, 1.0) if m.error() is None)
    consumed = time.perf_counter() - start
    consumer.close()
    return {"records": records, "produce_per_s": records / produced, "consume_per_s": got / consumed}


# -- end to end -------------------------------------------------------------------------------

@dataclass
class Tracker:
    """Watches the message-state topic and notes when each of our messages was first seen sent,
    delivered and final."""

    accepted_at: dict[str, float] = field(default_factory=dict)
    sent_at: dict[str, float] = field(default_factory=dict)
    delivered_at: dict[str, float] = field(default_factory=dict)
    final: dict[str, str] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self, bootstrap: str, catalog: Catalog) -> None:
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


async def drive(base: str, n: int, concurrency: int, rate: float, tracker: Tracker, run: str) -> list[float]:
    latencies: list[float] = []
    interval = 1.0 / rate if rate > 0 else 0.0
    start = time.monotonic()
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(n):
        queue.put_nowait(i)

    async def worker(client: httpx.AsyncClient) -> None:
        while True:
            try:
                i = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            if interval:
                await asyncio.sleep(max(0.0, start + i * interval - time.monotonic()))
            body = orjson.dumps({**SEND, "to": f"+52155{i:08d}"})
            t0 = time.monotonic()
            r = await client.post("/v1/messages", content=body, headers={"Idempotency-Key": f"{run}-{i}"})
            t1 = time.monotonic()
            if r.status_code == 202:
                latencies.append((t1 - t0) * 1000)
                tracker.accepted_at[r.json()["message_id"]] = t1

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, headers=SENDER, timeout=30, limits=limits) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    return latencies


def end_to_end(kafka: str, registry: str, data: Path, n: int, concurrency: int, rate: float,
               workers: int) -> dict[str, Any]:
    prefix = f"bench{uuid.uuid4().hex[:6]}."
    env = {"CARELAY_KAFKA_BOOTSTRAP": kafka, "CARELAY_SCHEMA_REGISTRY_URL": registry,
           "CARELAY_TOPIC_PREFIX": prefix, "CARELAY_LOG_LEVEL": "WARNING",
           # a benchmark measures throughput, not the per-patient frequency caps
           "CARELAY_LIMIT_RECIPIENT_HOUR": "1000", "CARELAY_LIMIT_RECIPIENT_DAY": "1000",
           "CARELAY_LIMIT_ORG_PER_SECOND": "100000", "CARELAY_META_PER_SECOND": "100000"}
    pipe = Pipeline(env, data, ports=Ports.free(), workers=workers, scenario="none")
    reg = ConfluentRegistry(registry)
    tracker = Tracker()
    try:
        pipe.start()
        catalog = Catalog(prefix, reg)
        watcher = threading.Thread(target=tracker.run, args=(kafka, catalog), daemon=True)
        watcher.start()
        asyncio.run(drive(pipe.gateway_url, min(50, n), 8, 0, Tracker(), "warmup"))  # JIT-free, but caches warm
        time.sleep(2)
        pids = {name: proc.pid for name, proc in pipe.procs.items() if proc.pid}
        cpu0 = {name: cpu_seconds(pid) for name, pid in pids.items()}
        t0 = time.monotonic()
        accept_ms = asyncio.run(drive(pipe.gateway_url, n, concurrency, rate, tracker, uuid.uuid4().hex[:8]))
        t_accepted = time.monotonic()
        ids = set(tracker.accepted_at)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not ids <= set(tracker.final):
            time.sleep(0.2)
        t_final = time.monotonic()
        time.sleep(3)  # the analytics sink's last batch
        cpu = {name: cpu_seconds(pid) - cpu0[name] for name, pid in pids.items()}
        rss = {name: peak_rss_mb(pid) for name, pid in pids.items()}
        with httpx.Client(base_url=pipe.simulator_url, timeout=60) as sim:
            sent = sim.get("/_sim/messages").json()["messages"]
        delivered_per_request = Counter(m["message_id"] for m in sent
                                        if m["message_id"] in ids and m["status"] in ("delivered", "read"))
    finally:
        tracker.stop.set()
        pipe.stop()
        reg.close()
    ours = [name for name in cpu if name != "simulator"]
    accepted = len(ids)
    return {
        "requests": n, "accepted": accepted, "concurrency": concurrency, "target_rate": rate or "max",
        "accepted_per_s": accepted / (t_accepted - t0),
        "reconciled_per_s": len(ids & set(tracker.final)) / (t_final - t0),
        "accept_ms": {"p50": pct(accept_ms, 0.5), "p95": pct(accept_ms, 0.95), "p99": pct(accept_ms, 0.99)},
        "accept_to_sent_ms": _lat(tracker.accepted_at, tracker.sent_at),
        "accept_to_delivered_ms": _lat(tracker.accepted_at, tracker.delivered_at),
        "cpu_seconds": cpu, "peak_rss_mb": rss,
        "carelay_cpu_ms_per_message": sum(cpu[name] for name in ours) * 1000 / max(1, accepted),
        "lost": len(ids - set(tracker.final)),
        "duplicated": sum(1 for c in delivered_per_request.values() if c > 1),
        "final_statuses": dict(Counter(tracker.final[i] for i in ids if i in tracker.final)),
    }


def _lat(start: dict[str, float], end: dict[str, float]) -> dict[str, float]:
    values = [(end[k] - start[k]) * 1000 for k in start if k in end]
    return {"p50": pct(values, 0.5), "p95": pct(values, 0.95), "p99": pct(values, 0.99)}


# -- report -----------------------------------------------------------------------------------

def report(results: dict[str, Any]) -> str:
    k, gw, e2e = results["kafka_ceiling"], results["gateway"], results["end_to_end"]
    lines = [f"carelay bench  {results['machine']}", ""]
    lines.append(f"kafka ceiling        produce {k['produce_per_s']:>10,.0f} rec/s   "
                 f"consume {k['consume_per_s']:>10,.0f} rec/s   (500-byte records, acks=all)")
    for name, r in gw["results"].items():
        lines.append(f"{name:<20} {r['rate']:>10,.0f} req/s   p50 {r['p50_ms']:6.1f} ms   p99 {r['p99_ms']:6.1f} ms"
                     + (f"   ({r['rate'] * r['items_per_request']:,.0f} msg/s)" if r["items_per_request"] > 1 else ""))
    lines.append(f"gateway/bare single  {gw['ratio_single']:.0%}   (target >= 40%)")
    lines.append(f"gateway/bare batch   {gw['ratio_batch']:.0%}")
    lines.append("")
    lines.append(f"end to end           {e2e['accepted']:,} of {e2e['requests']:,} accepted, concurrency "
                 f"{e2e['concurrency']}, target rate {e2e['target_rate']}")
    lines.append(f"  accepted/s         {e2e['accepted_per_s']:>10,.0f}   "
                 f"({e2e['accepted_per_s'] / k['produce_per_s']:.1%} of the broker's produce ceiling)")
    lines.append(f"  reconciled/s       {e2e['reconciled_per_s']:>10,.0f}")
    for key, label in (("accept_ms", "accept"), ("accept_to_sent_ms", "accept->sent"),
                       ("accept_to_delivered_ms", "accept->delivered")):
        v = e2e[key]
        lines.append(f"  {label:<18} p50 {v['p50']:8.1f} ms  p95 {v['p95']:8.1f} ms  p99 {v['p99']:8.1f} ms")
    lines.append(f"  carelay CPU        {e2e['carelay_cpu_ms_per_message']:.3f} ms per message (gateway + workers + "
                 "sink, whole lifecycle; target <= 1 ms)")
    for name in e2e["cpu_seconds"]:
        cpu, rss = e2e["cpu_seconds"][name], e2e["peak_rss_mb"][name]
        lines.append(f"    {name:<16} cpu {cpu:7.2f} s   peak rss {rss:7.1f} MB")
    lines.append(f"  lost {e2e['lost']}   duplicated {e2e['duplicated']}   final {e2e['final_statuses']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="make bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--messages", type=int, default=2000, help="end-to-end single sends")
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--rate", type=float, default=0, help="end-to-end target sends/s (0: as fast as possible)")
    p.add_argument("--workers", type=int, default=1, help="stream worker processes")
    p.add_argument("--seconds", type=int, default=8, help="per gateway/bare run (wrk)")
    p.add_argument("--kafka-records", type=int, default=200_000)
    p.add_argument("--out", type=Path, default=ROOT / "bench-results")
    args = p.parse_args(argv)
    tool = "wrk" if shutil.which("wrk") else "httpx"
    machine = f"{os.cpu_count()} CPUs, {_mem_gb():.0f} GiB, python {sys.version.split()[0]}"
    results: dict[str, Any] = {"machine": machine,
                               "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "load_tool": tool}
    with tempfile.TemporaryDirectory(prefix="carelay-bench-") as tmp:
        root = Path(tmp)
        kafka = LocalKafka(root / "kafka", port=free_port())
        registry = LocalRegistry(root / "registry", port=free_port())
        try:
            kafka.start()
            registry.start()
            print("measuring the broker's ceiling ...", flush=True)
            results["kafka_ceiling"] = kafka_ceiling(kafka.bootstrap, args.kafka_records)
            print(f"measuring the gateway against a bare Starlette endpoint ({tool}) ...", flush=True)
            gw = gateway_bench.measure(kafka.bootstrap, registry.url, tool=tool, requests=3000, batch_requests=100,
                                       seconds=args.seconds, concurrency=32)
            results["gateway"] = {
                "results": {name: {**asdict(r), "rate": r.rate} for name, r in gw.items()},
                "ratio_single": gw["gateway single"].rate / gw["bare single"].rate,
                "ratio_batch": gw["gateway batch"].rate / gw["bare batch"].rate,
            }
            print(f"end to end: {args.messages} messages through the whole pipeline ...", flush=True)
            results["end_to_end"] = end_to_end(kafka.bootstrap, registry.url, root / "pipeline", args.messages,
                                               args.concurrency, args.rate, args.workers)
        finally:
            registry.stop()
            kafka.stop()
    text = report(results)
    print("\n" + text)
    args.out.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    (args.out / f"bench-{stamp}.json").write_text(json.dumps(results, indent=2, default=str))
    (args.out / f"bench-{stamp}.txt").write_text(text + "\n")
    print(f"\nwritten to {args.out}/bench-{stamp}.json")
    return 0


def _mem_gb() -> float:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30


if __name__ == "__main__":
    sys.exit(main())
