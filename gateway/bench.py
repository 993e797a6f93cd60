"""Accept-path benchmark: the real gateway vs a bare Starlette endpoint, both under uvicorn.

    python -m gateway.bench --bootstrap 127.0.0.1:9092 --registry http://127.0.0.1:8081/apis/ccompat/v7

Starts the gateway (`gateway.app:create_app --factory`, fresh topic prefix) and a bare app that
only reads the body and answers 202 JSON, each in its own uvicorn subprocess; drives both with the
same load (single sends, then batch sends) and prints accepted req/s, p50/p99 accept latency and
the gateway/bare ratio. The load generator is `wrk` when installed (`--tool wrk`: fixed duration,
a Lua script gives every request its own Idempotency-Key), else an asyncio httpx loop (fixed
request count). On a small machine the load generator, both servers and the broker share the CPUs:
compare the ratio, not the absolute numbers, across machines.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

AUTH = "Bearer demo-clinic-sender-key"
SEND = {
    "to": "+5215512345678", "patient_ref": "MRN-0042", "recipient_name": "Ana Maria Lopez",
    "template": {"name": "appointment_reminder", "language": "es",
                 "params": {"patient_name": "Ana", "clinic": "Clinica Norte", "date": "1 de mayo", "time": "10:30"}},
    "appointment_id": "apt-1", "metadata": {"campaign": "bench"},
}


# -- the bare endpoint ------------------------------------------------------------------------

def bare_app() -> Starlette:
    """The floor: read the body, answer 202 JSON. No validation, no Kafka."""

    async def accept(request: Request) -> Response:
        await request.body()
        return Response(orjson.dumps({"message_id": str(uuid.uuid4()), "status": "accepted"}), 202,
                        media_type="application/json")

    async def ready(request: Request) -> Response:
        return Response(b'{"status":"ready"}', media_type="application/json")

    return Starlette(routes=[Route("/v1/messages", accept, methods=["POST"]),
                             Route("/v1/messages:batch", accept, methods=["POST"]),
                             Route("/readyz", ready, methods=["GET"])])


# -- servers ----------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _uvicorn(target: str, env: dict[str, str], workers: int) -> Iterator[str]:
    port = _free_port()
    cmd = [sys.executable, "-m", "uvicorn", target, "--factory", "--host", "127.0.0.1", "--port", str(port),
           "--workers", str(workers), "--log-level", "warning", "--no-access-log"]
    proc = subprocess.Popen(cmd, env={**os.environ, **env})  # noqa: S603 - our own interpreter and module
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"{target} exited with {proc.returncode}")
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"{target} not ready after 60 s")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


# -- load -------------------------------------------------------------------------------------

@dataclass
class Result:
    name: str
    accepted: int
    failed: int
    seconds: float
    p50_ms: float
    p99_ms: float
    items_per_request: int = 1

    @property
    def rate(self) -> float:
        return self.accepted / self.seconds if self.seconds else 0.0

    def line(self) -> str:
        items = f"  ({self.rate * self.items_per_request:,.0f} messages/s)" if self.items_per_request > 1 else ""
        return (f"{self.name:<28} {self.rate:>9,.0f} req/s  p50 {self.p50_ms:6.2f} ms  p99 {self.p99_ms:6.2f} ms"
                f"  accepted {self.accepted:,}  failed {self.failed:,}{items}")


def _body(batch: int, run: str) -> bytes:
    if batch <= 1:
        return orjson.dumps(SEND)
    return orjson.dumps({"items": [{**SEND, "to": f"+52155{i:08d}"} for i in range(batch)]})


def _percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


async def _httpx_load(base: str, path: str, body: bytes, requests: int, concurrency: int, run: str) -> Result:
    latencies: list[float] = []
    failed = 0
    counter = iter(range(requests))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        async def worker() -> None:
            nonlocal failed
            for n in counter:
                headers = {"authorization": AUTH, "content-type": "application/json", "idempotency-key": f"{run}-{n}"}
                start = time.perf_counter()
                r = await client.post(path, content=body, headers=headers)
                if r.status_code in (200, 202):
                    latencies.append(time.perf_counter() - start)
                else:
                    failed += 1

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - start
    latencies.sort()
    return Result(path, len(latencies), failed, seconds, _percentile(latencies, 0.5) * 1000,
                  _percentile(latencies, 0.99) * 1000)


WRK_SCRIPT = """
local counter, id = 0, 0
function setup(thread) thread:set("id", tostring(math.random(1, 1e9))) end
function init(args) id = wrk.thread:get("id") end
function request()
  counter = counter + 1
  local headers = {}
  for k, v in pairs(wrk.headers) do headers[k] = v end
  headers["Idempotency-Key"] = RUN .. "-" .. id .. "-" .. counter
  return wrk.format(nil, nil, headers, nil)
end
function done(summary, latency, requests)
  io.write(string.format('WRKJSON {"requests": %d, "duration_us": %d, "non2xx": %d, "p50_us": %d, "p99_us": %d}\\n',
    summary.requests, summary.duration, summary.errors.status, latency:percentile(50), latency:percentile(99)))
end
"""


def _wrk_load(base: str, path: str, body: bytes, seconds: int, concurrency: int, run: str) -> Result:
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "send.lua"
        script.write_text(f'RUN = "{run}"\nwrk.method = "POST"\nwrk.body = {json.dumps(body.decode())}\n'
                          f'wrk.headers["Content-Type"] = "application/json"\nwrk.headers["Authorization"] = "{AUTH}"\n'
                          + WRK_SCRIPT)
        threads = max(1, min(2, concurrency))
        out = subprocess.run(  # noqa: S603
            ["wrk", "-t", str(threads), "-c", str(concurrency), "-d", f"{seconds}s", "-s", str(script),  # noqa: S607
             base + path], capture_output=True, text=True, check=True).stdout
    doc = json.loads(next(line for line in out.splitlines() if line.startswith("WRKJSON")).split(" ", 1)[1])
    accepted = doc["requests"] - doc["non2xx"]
    return Result(path, accepted, doc["non2xx"], doc["duration_us"] / 1e6, doc["p50_us"] / 1000,
                  doc["p99_us"] / 1000)


def _drive(tool: str, base: str, path: str, body: bytes, count: int, seconds: int, concurrency: int,
           label: str) -> Result:
    run = uuid.uuid4().hex[:10]
    if tool == "wrk":
        result = _wrk_load(base, path, body, seconds, concurrency, run)
    else:
        result = asyncio.run(_httpx_load(base, path, body, count, concurrency, run))
    result.name = label
    return result


def measure(bootstrap: str, registry: str, *, tool: str, requests: int = 5000, batch_requests: int = 200,
            batch_size: int = 50, seconds: int = 10, concurrency: int = 32, workers: int = 1,
            linger_ms: int = 5) -> dict[str, Result]:
    """The gateway and a bare Starlette endpoint under the same uvicorn and the same load, one after the other."""
    gateway_env = {
        "CARELAY_KAFKA_BOOTSTRAP": bootstrap, "CARELAY_SCHEMA_REGISTRY_URL": registry,
        "CARELAY_TOPIC_PREFIX": f"bench{uuid.uuid4().hex[:6]}.", "CARELAY_KAFKA_LINGER_MS": str(linger_ms),
        "CARELAY_LOG_LEVEL": "WARNING",
    }
    single, batch = _body(1, "s"), _body(batch_size, "b")
    results: dict[str, Result] = {}
    for name, target, env in (("bare", "gateway.bench:bare_app", {}),
                              ("gateway", "gateway.app:create_app", gateway_env)):
        with _uvicorn(target, env, workers) as base:
            _drive(tool, base, "/v1/messages", single, 300, 2, concurrency, "warm-up")
            results[f"{name} single"] = _drive(tool, base, "/v1/messages", single, requests, seconds,
                                               concurrency, f"{name} single send")
            b = _drive(tool, base, "/v1/messages:batch", batch, batch_requests, seconds,
                       max(1, concurrency // 4), f"{name} batch x{batch_size}")
            b.items_per_request = batch_size
            results[f"{name} batch"] = b
    return results


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m gateway.bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--bootstrap", default=os.environ.get("CARELAY_KAFKA_BOOTSTRAP", "127.0.0.1:9092"))
    p.add_argument("--registry", default=os.environ.get("CARELAY_SCHEMA_REGISTRY_URL",
                                                        "http://127.0.0.1:8081/apis/ccompat/v7"))
    p.add_argument("--tool", choices=("auto", "httpx", "wrk"), default="auto")
    p.add_argument("--requests", type=int, default=5000, help="single sends (httpx)")
    p.add_argument("--batch-requests", type=int, default=200, help="batch sends (httpx)")
    p.add_argument("--batch-size", type=int, default=50)
    p.add_argument("--seconds", type=int, default=10, help="per run (wrk)")
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--workers", type=int, default=1, help="uvicorn workers for both apps")
    p.add_argument("--linger-ms", type=int, default=5)
    args = p.parse_args(argv)
    tool = ("wrk" if shutil.which("wrk") else "httpx") if args.tool == "auto" else args.tool

    print(f"tool {tool}, concurrency {args.concurrency}, uvicorn workers {args.workers}, linger {args.linger_ms} ms, "
          f"{os.cpu_count()} CPUs (shared with the load generator and the broker)")
    results = measure(args.bootstrap, args.registry, tool=tool, requests=args.requests,
                      batch_requests=args.batch_requests, batch_size=args.batch_size, seconds=args.seconds,
                      concurrency=args.concurrency, workers=args.workers, linger_ms=args.linger_ms)
    for r in results.values():
        print(r.line())
    for kind in ("single", "batch"):
        gw, bare = results[f"gateway {kind}"], results[f"bare {kind}"]
        print(f"ratio gateway/bare {kind}: {gw.rate / bare.rate:.0%} of the bare rate"
              if bare.rate else f"ratio {kind}: n/a")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
