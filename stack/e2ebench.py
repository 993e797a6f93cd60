"""The end-to-end part of `make bench`: the broker's raw ceiling, and N single sends through the gateway
into the whole pipeline with its latency, CPU and memory per process, and the lost/duplicated accounting."""
from __future__ import annotations

import asyncio
import os
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import orjson
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from schemas.registry import ConfluentRegistry
from schemas.settings import Settings
from schemas.topics import Catalog
from stack.benchkit import CHANNELS, PARAMS, Tracker, cpu_seconds, pct, peak_rss_mb, wait_final
from stack.pipeline import Pipeline, Ports

SENDER = {"Authorization": "Bearer demo-clinic-sender-key", "Content-Type": "application/json"}
SEND = {"channels": CHANNELS, "template": {"name": "appointment_reminder", "language": "es", "params": PARAMS}}


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
            body = orjson.dumps({**SEND, "to": f"+5255{i:08d}"})
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
           "CARELAY_LIMIT_ORG_PER_SECOND": "100000", "CARELAY_META_PER_SECOND": "100000",
           "CARELAY_CARE_QUIET_HOURS": "00:00-00:00"}  # nor quiet hours: a night run holds every send
    pipe = Pipeline(env, data, ports=Ports.free(), workers=workers, scenario="none", ai_agent=False)
    reg = ConfluentRegistry(registry)
    tracker = Tracker()
    try:
        pipe.start()
        catalog = Catalog(prefix, reg)
        watcher = threading.Thread(target=tracker.run, args=(kafka, catalog), daemon=True)
        watcher.start()
        warm = asyncio.run(drive(pipe.gateway_url, min(50, n), 8, 0, Tracker(), "warmup"))  # caches warm
        time.sleep(2)
        pids = {name: proc.pid for name, proc in pipe.procs.items() if proc.pid}
        cpu0 = {name: cpu_seconds(pid) for name, pid in pids.items()}
        t0 = time.monotonic()
        accept_ms = asyncio.run(drive(pipe.gateway_url, n, concurrency, rate, tracker, uuid.uuid4().hex[:8]))
        t_accepted = time.monotonic()
        ids = set(tracker.accepted_at)
        wait_final(tracker, ids, 120)
        t_final = time.monotonic()
        # Each process's CPU over its own part of the lifecycle: the gateway, the workers and the
        # simulator are done once every message is final (plus a second for the last changelog
        # writes); the sink once its last batch is in, up to a batch interval later. Their CPU while
        # they wait for the sink is idle cost, reported per second apart, not per message.
        time.sleep(1)
        cpu = {name: cpu_seconds(pid) - cpu0[name] for name, pid in pids.items()}
        t_done = time.monotonic()
        time.sleep(Settings.from_env(pipe.env).analytics.batch_interval_s + 2)  # the analytics sink's last batch
        after = {name: cpu_seconds(pid) - cpu0[name] for name, pid in pids.items()}
        idle_ms_per_s = {name: (after[name] - cpu[name]) * 1000 / (time.monotonic() - t_done)
                         for name in pids if name != "analytics"}
        if "analytics" in after:
            cpu["analytics"] = after["analytics"]
        rss = {name: peak_rss_mb(pid) for name, pid in pids.items()}
        records = records_on_topics(kafka, prefix)
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
        "cpu_seconds": cpu, "idle_cpu_ms_per_s": idle_ms_per_s, "peak_rss_mb": rss,
        "carelay_cpu_ms_per_message": sum(cpu[name] for name in ours) * 1000 / max(1, accepted),
        "lost": len(ids - set(tracker.final)),
        "duplicated": sum(1 for c in delivered_per_request.values() if c > 1),
        "final_statuses": dict(Counter(tracker.final[i] for i in ids if i in tracker.final)),
        # every message of the run, warm-up included, is one WhatsApp lifecycle (send, three callbacks)
        **per_lifecycle(records, len(warm) + accepted),
    }


def _lat(start: dict[str, float], end: dict[str, float]) -> dict[str, float]:
    values = [(end[k] - start[k]) * 1000 for k in start if k in end]
    return {"p50": pct(values, 0.5), "p95": pct(values, 0.95), "p99": pct(values, 0.99)}

def end_to_end_lines(e2e: dict[str, Any], k: dict[str, Any]) -> list[str]:
    lines = [f"end to end           {e2e['accepted']:,} of {e2e['requests']:,} accepted, concurrency "
             f"{e2e['concurrency']}, target rate {e2e['target_rate']}"]
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
        idle = e2e.get("idle_cpu_ms_per_s", {}).get(name)
        lines.append(f"    {name:<16} cpu {cpu:7.2f} s   peak rss {rss:7.1f} MB"
                     + (f"   idle afterwards {idle:5.1f} ms/s" if idle is not None else ""))
    lines.append(f"  lost {e2e['lost']}   duplicated {e2e['duplicated']}   final {e2e['final_statuses']}")
    if "records_per_lifecycle" in e2e:
        lines.append(records_line(e2e))
    return lines


# -- Kafka records per lifecycle ----------------------------------------------------------------------

def records_on_topics(bootstrap: str, prefix: str) -> dict[str, int]:
    """Records ever written to each topic of a run (the partitions' end offsets), by name without the
    prefix; Faust's partition-assignor topic is start-up work, not per message, and left out."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-count-{uuid.uuid4()}",
                         "enable.auto.commit": False})
    try:
        counts: dict[str, int] = {}
        for name, topic in consumer.list_topics(timeout=30).topics.items():
            if not name.startswith(prefix) or "__assignor" in name:
                continue
            total = sum(consumer.get_watermark_offsets(TopicPartition(name, p), timeout=10)[1]
                        for p in topic.partitions)
            if total:
                counts[name[len(prefix):]] = total
        return counts
    finally:
        consumer.close()


def per_lifecycle(records: dict[str, int], lifecycles: int) -> dict[str, Any]:
    """The run's Kafka records per message lifecycle, in all and by topic (largest first)."""
    n = max(1, lifecycles)
    by_topic = {topic: count / n for topic, count in sorted(records.items(), key=lambda kv: -kv[1])}
    return {"lifecycles": lifecycles, "records_per_lifecycle": sum(records.values()) / n,
            "records_per_lifecycle_by_topic": by_topic}


def records_line(e2e: dict[str, Any]) -> str:
    parts = ", ".join(f"{topic} {count:.1f}" for topic, count in e2e["records_per_lifecycle_by_topic"].items())
    return (f"  Kafka records      {e2e['records_per_lifecycle']:.1f} per WhatsApp lifecycle, counted on the topics "
            f"over {e2e['lifecycles']:,} lifecycles (target <= 12): {parts}")
