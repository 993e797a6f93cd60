"""`python -m stack.bench --worker-only`: the stream worker's CPU per WhatsApp lifecycle, alone.

N send requests are produced straight to send.requests (no gateway accept path, no analytics sink);
the simulator sends its callbacks through the gateway as usual; the worker's CPU time (utime + stime
from /proc) while it takes all N to a final state, divided by N, is the figure.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from stack.benchkit import Spy, cpu_seconds, local_stack, produce_requests, top_frames, wait_final, worker_pipeline


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
