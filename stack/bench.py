"""`make bench`: carelay measured against this machine's own ceilings, in one run, as ratios.

1. Raw ceilings: the broker's own producer and consumer throughput (confluent-kafka, 500-byte
   records) and a bare Starlette endpoint under the same uvicorn as the gateway.
2. The gateway's accept path against the bare endpoint (single and batch sends, stack.gatewaybench).
3. End to end: N single sends through the gateway into the whole pipeline (stream worker,
   provider simulator with three callbacks per message, reconciliation, analytics sink), with
   accept latency, accept -> sent and accept -> delivered latency as observed on the
   message-state topic, CPU and peak memory of each process, CPU per message of carelay's own
   processes (gateway + workers + sink), and the accounting: lost (accepted, never final) and
   duplicated (more than one delivered provider message for one request).

Results are printed as a table and written as JSON to bench-results/. Nothing here is a test:
the figures are for people to read, compare and record in docs/benchmarks.md.

`--worker-only`: the stream worker's CPU alone. N send requests are produced straight to
send.requests (no gateway accept path, no analytics sink); the simulator sends its callbacks
through the gateway as usual; the worker's CPU time (utime + stime from /proc) while it takes all
N to a final state, divided by N, is the figure. CPU time, not wall time, so other load on the
machine moves it little. `--profile` also records the worker with py-spy (top frames to a text file).
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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

import httpx
import orjson
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from schemas.registry import ConfluentRegistry
from schemas.settings import Settings
from schemas.topics import Catalog
from stack import consolebench, sinkbench
from stack import gatewaybench as gateway_bench
from stack.benchkit import (
    CHANNELS,
    PARAMS,
    Spy,
    Tracker,
    cpu_seconds,
    pct,
    peak_rss_mb,
    produce_requests,
    top_frames,
    wait_final,
    worker_pipeline,
)
from stack.javaproc import free_port
from stack.kafka import LocalKafka
from stack.pipeline import Pipeline, Ports
from stack.registry import LocalRegistry

ROOT = Path(__file__).resolve().parent.parent
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
        asyncio.run(drive(pipe.gateway_url, min(50, n), 8, 0, Tracker(), "warmup"))  # JIT-free, but caches warm
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
    }


# -- worker only ------------------------------------------------------------------------------













def worker_only(kafka: str, registry: str, data: Path, n: int, rate: float, profile: Path | None,
                idle_seconds: float = 10.0) -> dict[str, Any]:
    """`profile`: a directory for py-spy's busy.raw (while the messages run) and idle.raw (afterwards)."""
    with worker_pipeline(kafka, registry, data) as run:
        settings, catalog, tracker = run.settings, run.catalog, run.tracker
        warm = produce_requests(settings, catalog, min(50, n), "warmup-" + uuid.uuid4().hex[:6])
        if not wait_final(tracker, warm, 180):
            raise RuntimeError(f"warm-up: {len(warm - set(tracker.final))} of {len(warm)} messages never final")
        time.sleep(2)
        pid = run.pipe.procs["worker-0"].pid
        assert pid is not None
        with Spy(pid, profile / "busy.raw" if profile else None):
            cpu0, t0 = cpu_seconds(pid), time.monotonic()
            ids = produce_requests(settings, catalog, n, uuid.uuid4().hex[:8], rate)
            done = wait_final(tracker, ids, 300)
            t1 = time.monotonic()
            time.sleep(2)  # the last changelog writes
            cpu1 = cpu_seconds(pid)
        time.sleep(1)
        with Spy(pid, profile / "idle.raw" if profile else None):
            idle0 = cpu_seconds(pid)
            time.sleep(idle_seconds)  # nothing to do but timers, over a table of n + warm-up messages
            idle = (cpu_seconds(pid) - idle0) / idle_seconds
    final = ids & set(tracker.final)
    return {"messages": n, "rate": rate, "final": len(final), "all_final": done, "seconds": t1 - t0,
            "worker_cpu_s": cpu1 - cpu0, "worker_cpu_ms_per_message": (cpu1 - cpu0) * 1000 / max(1, len(final)),
            "idle_cpu_ms_per_s": idle * 1000,
            "final_statuses": dict(Counter(tracker.final[i] for i in final))}


def worker_report(r: dict[str, Any], machine: str) -> str:
    return "\n".join([
        f"carelay worker-only bench  {machine}", "",
        f"messages             {r['final']:,} of {r['messages']:,} final in {r['seconds']:.1f} s "
        f"(produced at {r['rate'] or 'max'}/s)",
        f"worker CPU           {r['worker_cpu_s']:.2f} s = {r['worker_cpu_ms_per_message']:.3f} ms per message "
        "(send, route, provider call, 3 callbacks, reconcile)",
        f"worker idle CPU      {r['idle_cpu_ms_per_s']:.1f} ms per second (timers over the tables afterwards)",
        f"final                {r['final_statuses']}",
    ])


def _lat(start: dict[str, float], end: dict[str, float]) -> dict[str, float]:
    values = [(end[k] - start[k]) * 1000 for k in start if k in end]
    return {"p50": pct(values, 0.5), "p95": pct(values, 0.95), "p99": pct(values, 0.99)}


# -- report -----------------------------------------------------------------------------------

def report(results: dict[str, Any]) -> str:
    k, gw = results["kafka_ceiling"], results["gateway"]
    lines = [f"carelay bench  {results['machine']}", ""]
    lines.append(f"kafka ceiling        produce {k['produce_per_s']:>10,.0f} rec/s   "
                 f"consume {k['consume_per_s']:>10,.0f} rec/s   (500-byte records, acks=all)")
    for name, r in gw["results"].items():
        lines.append(f"{name:<20} {r['rate']:>10,.0f} req/s   p50 {r['p50_ms']:6.1f} ms   p99 {r['p99_ms']:6.1f} ms"
                     + (f"   ({r['rate'] * r['items_per_request']:,.0f} msg/s)" if r["items_per_request"] > 1 else ""))
    lines.append(f"gateway/bare single  {gw['ratio_single']:.0%}   (target >= 40%)")
    lines.append(f"gateway/bare batch   {gw['ratio_batch']:.0%}")
    for key in ("end_to_end", "end_to_end_paced"):
        if key in results:
            lines += ["", *_end_to_end_lines(results[key], k)]
    return "\n".join(lines)


def _end_to_end_lines(e2e: dict[str, Any], k: dict[str, Any]) -> list[str]:
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
    return lines


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


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="make bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--messages", type=int, default=2000, help="end-to-end single sends")
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--rate", type=float, default=0,
                   help="end-to-end target sends/s (0: as fast as possible; --worker-only: 0 means 50/s)")
    p.add_argument("--paced-rate", type=float, default=100,
                   help="a second end-to-end run at this steady rate (sends/s): latency below saturation; 0 skips it")
    p.add_argument("--paced-messages", type=int, default=1000)
    p.add_argument("--workers", type=int, default=1, help="stream worker processes")
    p.add_argument("--seconds", type=int, default=8, help="per gateway/bare run (wrk)")
    p.add_argument("--kafka-records", type=int, default=200_000)
    p.add_argument("--out", type=Path, default=ROOT / "bench-results")
    p.add_argument("--worker-only", action="store_true", help="only the stream worker's CPU per message")
    p.add_argument("--profile", action="store_true",
                   help="with --worker-only or --sink-only: py-spy that process (top frames)")
    p.add_argument("--sink-only", action="store_true",
                   help="only the analytics sink's CPU per record (--rate: lifecycles/s replayed, 0 means 100)")
    p.add_argument("--capture", type=Path, help="with --sink-only: the captured records' file (read if present)")
    p.add_argument("--repeat", type=int, default=3, help="with --sink-only: replays, each into a fresh sink")
    p.add_argument("--console-only", action="store_true",
                   help="only the staff console's page server times and live-notice fan-out (stack.consolebench)")
    consolebench.add_arguments(p)
    args = p.parse_args(argv)
    tool = "wrk" if shutil.which("wrk") else "httpx"
    machine = f"{os.cpu_count()} CPUs, {_mem_gb():.0f} GiB, python {sys.version.split()[0]}"
    if args.worker_only:
        return main_worker_only(args, machine)
    if args.console_only:
        return main_console_only(args, machine)
    if args.sink_only:
        with local_stack() as (root, kafka, registry):
            return sinkbench.main(args, machine, root, kafka.bootstrap, registry.url)
    results: dict[str, Any] = {"machine": machine,
                               "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "load_tool": tool}
    with local_stack() as (root, kafka, registry):
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
        if args.paced_rate > 0:
            print(f"end to end, paced: {args.paced_messages} messages at {args.paced_rate:g}/s ...", flush=True)
            results["end_to_end_paced"] = end_to_end(kafka.bootstrap, registry.url, root / "pipeline-paced",
                                                     args.paced_messages, args.concurrency, args.paced_rate,
                                                     args.workers)
        results["console"] = console_part(args, kafka.bootstrap, registry.url)
    text = report(results) + "\n" + consolebench.report(results["console"])
    print("\n" + text)
    args.out.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    (args.out / f"bench-{stamp}.json").write_text(json.dumps(results, indent=2, default=str))
    (args.out / f"bench-{stamp}.txt").write_text(text + "\n")
    print(f"\nwritten to {args.out}/bench-{stamp}.json")
    return 0


def console_part(args: argparse.Namespace, bootstrap: str, registry: str) -> dict[str, Any]:
    return consolebench.run(bootstrap, registry, args.console_messages, args.console_conversations,
                            args.console_requests, args.console_streams)


def main_console_only(args: argparse.Namespace, machine: str) -> int:
    """The console's figures alone, on a throw-away broker (or `--bootstrap`/`--registry-url`'s)."""
    if args.bootstrap:
        result = console_part(args, args.bootstrap, args.registry_url)
    else:
        with local_stack() as (_, kafka, registry):
            result = console_part(args, kafka.bootstrap, registry.url)
    text = f"{machine}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n" + consolebench.report(result)
    print("\n" + text)
    args.out.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    (args.out / f"console-{stamp}.json").write_text(json.dumps({"machine": machine, **result}, indent=2))
    (args.out / f"console-{stamp}.txt").write_text(text + "\n")
    print(f"\nwritten to {args.out}/console-{stamp}.txt")
    return 0


def main_worker_only(args: argparse.Namespace, machine: str) -> int:
    args.out.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    prof = args.out / f"worker-{stamp}" if args.profile else None
    with local_stack() as (root, kafka, registry):
        print(f"worker only: {args.messages} messages ...", flush=True)
        try:
            result = worker_only(kafka.bootstrap, registry.url, root / "pipeline", args.messages,
                                 args.rate or 50, root if prof else None)
        except Exception:
            shutil.copytree(root / "pipeline" / "logs", args.out / f"worker-{stamp}-logs", dirs_exist_ok=True)
            print(f"logs kept in {args.out}/worker-{stamp}-logs", file=sys.stderr)
            raise
        for phase in ("busy", "idle") if prof else ():
            if (root / f"{phase}.raw").exists():
                collapsed = (root / f"{phase}.raw").read_text()
                Path(f"{prof}.{phase}.prof.txt").write_text(top_frames(collapsed))
                Path(f"{prof}.{phase}.collapsed").write_text(collapsed)
    text = worker_report(result, machine)
    print("\n" + text)
    (args.out / f"worker-{stamp}.json").write_text(json.dumps({"machine": machine, **result}, indent=2))
    (args.out / f"worker-{stamp}.txt").write_text(text + "\n")
    print(f"\nwritten to {args.out}/worker-{stamp}.txt" + (f" and {prof}.*.prof.txt" if prof else ""))
    return 0




def _mem_gb() -> float:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30


if __name__ == "__main__":
    sys.exit(main())
