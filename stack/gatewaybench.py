"""Accept-path benchmark: the real gateway vs a bare Starlette endpoint, both under uvicorn.

    python -m stack.gatewaybench --bootstrap 127.0.0.1:9092 --registry http://127.0.0.1:8081/apis/ccompat/v7

Starts the gateway (`gateway.app:create_app --factory`, fresh topic prefix) and a bare app that
only reads the body and answers 202 JSON, each in its own uvicorn subprocess with the same options
(`--http`: uvicorn's HTTP parser, the same for both so the ratio stays fair); drives both with the
same load (single sends, then batch sends), then the gateway alone with signed provider callbacks
(a Twilio status form post, a Meta status JSON post); prints accepted req/s, p50/p99 latency, the
server process's CPU per request (utime + stime from /proc, all its threads, librdkafka's too) and
the gateway/bare ratio. The load generator is `wrk` when installed (`--tool wrk`: fixed duration,
a Lua script gives every send its own Idempotency-Key), else an asyncio httpx loop (fixed request
count). On a small machine the load generator, both servers and the broker share the CPUs: compare
the ratio and the CPU per request, not the absolute rates, across machines.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
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

from schemas.settings import GatewaySettings
from stack.benchkit import cpu_seconds
from stack.gatewayinproc import measure_in_process
from stack.gatewayloads import (
    PUBLIC_URL,
    Load,
    callback_load,
    meta_status_callback,
    send_body,
    send_load,
    twilio_status_callback,
)
from stack.javaproc import free_port

# -- servers ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Server:
    base: str
    pid: int


@contextmanager
def _uvicorn(target: str, env: dict[str, str], workers: int, http: str = "auto") -> Iterator[Server]:
    port = free_port()
    cmd = [sys.executable, "-m", "uvicorn", target, "--factory", "--host", "127.0.0.1", "--port", str(port),
           "--workers", str(workers), "--http", http, "--log-level", "warning", "--no-access-log"]
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
        yield Server(base, proc.pid)
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
    cpu_ms: float | None = None  # the server process's CPU per accepted request

    @property
    def rate(self) -> float:
        return self.accepted / self.seconds if self.seconds else 0.0

    def line(self) -> str:
        items = f"  ({self.rate * self.items_per_request:,.0f} messages/s)" if self.items_per_request > 1 else ""
        cpu = f"  cpu {self.cpu_ms:5.3f} ms/req" if self.cpu_ms is not None else ""
        return (f"{self.name:<28} {self.rate:>9,.0f} req/s  p50 {self.p50_ms:6.2f} ms  p99 {self.p99_ms:6.2f} ms"
                f"{cpu}  accepted {self.accepted:,}  failed {self.failed:,}{items}")


def _percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


async def _httpx_load(base: str, load: Load, requests: int, concurrency: int, run: str) -> Result:
    latencies: list[float] = []
    failed = 0
    counter = iter(range(requests))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        async def worker() -> None:
            nonlocal failed
            for n in counter:
                headers = {**load.headers, "idempotency-key": f"{run}-{n}"} if load.keyed else load.headers
                start = time.perf_counter()
                r = await client.post(load.path, content=load.body, headers=headers)
                if r.status_code in (200, 202):
                    latencies.append(time.perf_counter() - start)
                else:
                    failed += 1

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - start
    latencies.sort()
    return Result(load.path, len(latencies), failed, seconds, _percentile(latencies, 0.5) * 1000,
                  _percentile(latencies, 0.99) * 1000)


WRK_SCRIPT = """
local counter, id = 0, 0
function setup(thread) thread:set("id", tostring(math.random(1, 1e9))) end
function init(args) id = wrk.thread:get("id") end
function request()
  if not KEYED then return wrk.format(nil, nil, nil, nil) end
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


def _wrk_load(base: str, load: Load, seconds: int, concurrency: int, run: str) -> Result:
    headers = "".join(f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}\n" for k, v in load.headers.items())
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "load.lua"
        script.write_text(f'RUN = "{run}"\nKEYED = {str(load.keyed).lower()}\nwrk.method = "POST"\n'
                          f"wrk.body = {json.dumps(load.body.decode())}\n{headers}" + WRK_SCRIPT)
        threads = max(1, min(2, concurrency))
        out = subprocess.run(  # noqa: S603
            ["wrk", "-t", str(threads), "-c", str(concurrency), "-d", f"{seconds}s", "-s", str(script),  # noqa: S607
             base + load.path], capture_output=True, text=True, check=True).stdout
    doc = json.loads(next(line for line in out.splitlines() if line.startswith("WRKJSON")).split(" ", 1)[1])
    accepted = doc["requests"] - doc["non2xx"]
    return Result(load.path, accepted, doc["non2xx"], doc["duration_us"] / 1e6, doc["p50_us"] / 1000,
                  doc["p99_us"] / 1000)


def _drive(tool: str, server: Server, load: Load, count: int, seconds: int, concurrency: int,
           label: str) -> Result:
    run = uuid.uuid4().hex[:10]
    cpu = cpu_seconds(server.pid)
    if tool == "wrk":
        result = _wrk_load(server.base, load, seconds, concurrency, run)
    else:
        result = asyncio.run(_httpx_load(server.base, load, count, concurrency, run))
    result.cpu_ms = (cpu_seconds(server.pid) - cpu) * 1000 / max(1, result.accepted)
    result.name = label
    return result


def measure(bootstrap: str, registry: str, *, tool: str, requests: int = 5000, batch_requests: int = 200,
            batch_size: int = 50, seconds: int = 10, concurrency: int = 32, workers: int = 1,
            linger_ms: int = GatewaySettings.linger_ms, http: str = "auto",
            webhooks: bool = True) -> dict[str, Result]:
    """The gateway and a bare Starlette endpoint under the same uvicorn and the same load, one after
    the other; then (`webhooks`) signed provider callbacks through the gateway."""
    gateway_env = {
        "CARELAY_KAFKA_BOOTSTRAP": bootstrap, "CARELAY_SCHEMA_REGISTRY_URL": registry,
        "CARELAY_TOPIC_PREFIX": f"bench{uuid.uuid4().hex[:6]}.", "CARELAY_GATEWAY_LINGER_MS": str(linger_ms),
        "CARELAY_LOG_LEVEL": "WARNING", "CARELAY_PUBLIC_URL": PUBLIC_URL, "CARELAY_DEMO_API_KEYS": "true",
    }
    single = send_load("/v1/messages", send_body(1, "s"))
    batch = send_load("/v1/messages:batch", send_body(batch_size, "b"))
    results: dict[str, Result] = {}
    for name, target, env in (("bare", "stack.gatewayloads:bare_app", {}),
                              ("gateway", "gateway.app:create_app", gateway_env)):
        with _uvicorn(target, env, workers, http) as server:
            _drive(tool, server, single, 300, 2, concurrency, "warm-up")
            results[f"{name} single"] = _drive(tool, server, single, requests, seconds, concurrency,
                                               f"{name} single send")
            b = _drive(tool, server, batch, batch_requests, seconds, max(1, concurrency // 4),
                       f"{name} batch x{batch_size}")
            b.items_per_request = batch_size
            results[f"{name} batch"] = b
            if name == "gateway" and webhooks:
                for key, callback in (("twilio", twilio_status_callback()), ("meta", meta_status_callback())):
                    results[f"gateway {key} callback"] = _drive(
                        tool, server, callback_load(callback), requests, seconds, max(1, concurrency // 2),
                        f"gateway {key} status callback")
    return results


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m stack.gatewaybench", description=__doc__.split("\n\n")[0])
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
    p.add_argument("--linger-ms", type=int, default=GatewaySettings.linger_ms, help="the gateway's producer linger")
    p.add_argument("--http", choices=("auto", "h11", "httptools"), default="auto",
                   help="uvicorn's HTTP implementation, for both apps (auto: httptools when installed)")
    p.add_argument("--no-webhooks", action="store_true", help="skip the provider callback runs")
    p.add_argument("--in-process", action="store_true",
                   help="only the apps' own CPU per request, called as ASGI apps in this process (no HTTP)")
    args = p.parse_args(argv)
    if args.in_process:
        cpu = asyncio.run(measure_in_process(args.bootstrap, args.registry, requests=args.requests,
                                             concurrency=args.concurrency))
        print(f"in process, {args.requests:,} requests each, {args.concurrency} at a time "
              "(CPU of this process, all threads, per request):")
        for name, us in cpu.items():
            print(f"  {name:<24} {us:7.1f} µs")
        return 0
    tool = ("wrk" if shutil.which("wrk") else "httpx") if args.tool == "auto" else args.tool

    print(f"tool {tool}, concurrency {args.concurrency}, uvicorn workers {args.workers} (--http {args.http}), "
          f"linger {args.linger_ms} ms, "
          f"{os.cpu_count()} CPUs (shared with the load generator and the broker)")
    results = measure(args.bootstrap, args.registry, tool=tool, requests=args.requests,
                      batch_requests=args.batch_requests, batch_size=args.batch_size, seconds=args.seconds,
                      concurrency=args.concurrency, workers=args.workers, linger_ms=args.linger_ms, http=args.http,
                      webhooks=not args.no_webhooks)
    for r in results.values():
        print(r.line())
    for kind in ("single", "batch"):
        gw, bare = results[f"gateway {kind}"], results[f"bare {kind}"]
        print(f"ratio gateway/bare {kind}: {gw.rate / bare.rate:.0%} of the bare rate"
              if bare.rate else f"ratio {kind}: n/a")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
