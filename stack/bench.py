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
4. The peer: Kannel, Debian's SMS gateway, running the same loop (HTTP send, fake SMSC, delivery
   reports over HTTP; stack.kannelbench), and carelay's CPU per lifecycle and reconciled/s as ratios
   to Kannel's CPU per message and full-loop messages/s. Without Kannel installed it says so.

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
import json
import os
import shutil
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from stack import consolebench, kannelbench, sinkbench, workerbench
from stack import gatewaybench as gateway_bench
from stack.benchkit import local_stack
from stack.e2ebench import end_to_end, end_to_end_lines, kafka_ceiling

ROOT = Path(__file__).resolve().parent.parent


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
            lines += ["", *end_to_end_lines(results[key], k)]
    lines += ["", *kannelbench.ratio_lines(results)]
    return "\n".join(lines)


def peer(results: dict[str, Any], messages: int, concurrency: int) -> None:
    """Kannel's loop into `results["kannel"]`, or why not into `results["kannel_missing"]`."""
    binaries = kannelbench.find_binaries()
    if binaries is None:
        results["kannel_missing"] = kannelbench.missing_text()
        print(results["kannel_missing"], flush=True)
        return
    print(f"the peer: {messages} messages through Kannel's loop ...", flush=True)
    results["kannel"] = kannelbench.measure(messages, concurrency, binaries)


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
    p.add_argument("--kannel-messages", type=int, default=2000,
                   help="the peer's loop (a loop of a few hundred is over in about a second, before its rate settles)")
    p.add_argument("--kannel-concurrency", type=int, default=64,
                   help="the peer's concurrent senders (its sendsms answers in about 40 ms at any load)")
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
        return workerbench.main_worker_only(args, machine)
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
        peer(results, args.kannel_messages, args.kannel_concurrency)
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


def _mem_gb() -> float:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30


if __name__ == "__main__":
    sys.exit(main())
