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
from typing import Any
from urllib.parse import urlencode

import httpx
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator

from connectors.base import WEBHOOK_PATHS, encode_refs
from connectors.meta import sign
from schemas.settings import GatewaySettings, MetaSettings, TwilioSettings
from stack.benchkit import cpu_seconds
from stack.javaproc import free_port

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


# -- provider callbacks ------------------------------------------------------------------------

PUBLIC_URL = "http://gateway.bench"  # the gateway's CARELAY_PUBLIC_URL in the bench: Twilio signs it
REFS = encode_refs("demo-clinic", "5b0e6d8e-7a52-5d3e-9d3f-0f4a2d1c0b11", "bench-attempt")


def twilio_status_callback() -> tuple[str, bytes, dict[str, str]]:
    """(path and query, body, headers) of a signed WhatsApp status callback, as Twilio posts it."""
    path = f"{WEBHOOK_PATHS['twilio_status']}?{REFS}"
    sid = "SM" + "a" * 32
    form = {"AccountSid": TwilioSettings.account_sid, "ApiVersion": "2010-04-01", "From": "whatsapp:+15550001000",
            "To": "whatsapp:+5215512345678", "MessageSid": sid, "SmsSid": sid, "MessageStatus": "delivered",
            "SmsStatus": "delivered", "ChannelPrefix": "whatsapp", "ChannelToAddress": "+5215512345678",
            "ChannelInstallSid": "XE" + "0" * 32, "StructuredMessage": "false"}
    signature = RequestValidator(str(TwilioSettings().auth_token)).compute_signature(PUBLIC_URL + path, form)
    return path, urlencode(form).encode(), {"Content-Type": "application/x-www-form-urlencoded",
                                            "X-Twilio-Signature": signature}


def meta_status_callback() -> tuple[str, bytes, dict[str, str]]:
    """(path, body, headers) of a signed WhatsApp Cloud API `delivered` status webhook with pricing."""
    status = {"id": "wamid.HBgNNTIxNTUxMjM0NTY3OBUCABEYEjQ2", "status": "delivered", "timestamp": "1764090000",
              "recipient_id": "5215512345678", "biz_opaque_callback_data": REFS,
              "conversation": {"id": "c" * 32, "expiration_timestamp": "1764176400", "origin": {"type": "utility"}},
              "pricing": {"billable": True, "pricing_model": "PMP", "type": "regular", "category": "utility"}}
    body = orjson.dumps({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [
        {"field": "messages", "value": {"messaging_product": "whatsapp", "statuses": [status], "metadata": {
            "display_phone_number": "15550001001", "phone_number_id": MetaSettings.phone_number_id}}}]}]})
    return WEBHOOK_PATHS["meta"], body, {"Content-Type": "application/json",
                                         "X-Hub-Signature-256": sign(str(MetaSettings().app_secret).encode(), body)}


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


@dataclass(frozen=True)
class Load:
    """One kind of request: `keyed` sends get their own Idempotency-Key and the sender's API key."""

    path: str
    body: bytes
    headers: dict[str, str]
    keyed: bool = True


def send_load(path: str, body: bytes) -> Load:
    return Load(path, body, {"Content-Type": "application/json", "Authorization": AUTH})


def callback_load(callback: tuple[str, bytes, dict[str, str]]) -> Load:
    return Load(*callback, keyed=False)


def _body(batch: int, run: str) -> bytes:
    if batch <= 1:
        return orjson.dumps(SEND)
    return orjson.dumps({"items": [{**SEND, "to": f"+52155{i:08d}"} for i in range(batch)]})


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
    single = send_load("/v1/messages", _body(1, "s"))
    batch = send_load("/v1/messages:batch", _body(batch_size, "b"))
    results: dict[str, Result] = {}
    for name, target, env in (("bare", "stack.gatewaybench:bare_app", {}),
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


# -- in process, without HTTP ---------------------------------------------------------------------

async def _asgi_post(app: Any, load: Load, key: str | None) -> int:
    """One POST straight into the ASGI app: no socket, no HTTP parser, no uvicorn."""
    path, _, query = load.path.partition("?")
    headers = [(b"host", PUBLIC_URL.split("//")[1].encode()), (b"content-length", str(len(load.body)).encode()),
               *((k.lower().encode(), v.encode()) for k, v in load.headers.items())]
    if key is not None:
        headers.append((b"idempotency-key", key.encode()))
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": query.encode(), "root_path": "",
             "headers": headers, "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 80), "state": {}}
    received = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal received
        if received:
            await asyncio.Event().wait()  # the client never disconnects
        received = True
        return {"type": "http.request", "body": load.body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def _app_cpu(app: Any, load: Load, requests: int, concurrency: int) -> tuple[float, int]:
    """(CPU µs per request of this whole process, all threads; failures) for `requests` POSTs."""
    run = uuid.uuid4().hex[:8]
    numbers = iter(range(requests))
    failed = 0

    async def worker() -> None:
        nonlocal failed
        for n in numbers:
            if await _asgi_post(app, load, f"{run}-{n}" if load.keyed else None) not in (200, 202):
                failed += 1

    cpu = time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return (time.process_time() - cpu) * 1e6 / requests, failed


async def measure_in_process(bootstrap: str, registry: str, *, requests: int = 5000,
                             concurrency: int = 32) -> dict[str, float]:
    """CPU per request of the apps alone (µs): the bare endpoint, then the gateway's send and signed
    callbacks on the real broker. What the gateway's own code costs, without uvicorn and the load
    generator sharing the CPUs: the figure to compare a change of gateway code before and after."""
    # imported here: create_app pulls in the whole gateway, which the HTTP runs above do not need
    from gateway.app import create_app
    from schemas.settings import Settings

    bare = bare_app()
    loads = {"send": send_load("/v1/messages", _body(1, "s")),
             "twilio callback": callback_load(twilio_status_callback()),
             "meta callback": callback_load(meta_status_callback())}
    results = {"bare single": (await _app_cpu(bare, loads["send"], requests, concurrency))[0]}
    settings = Settings.from_env({**os.environ, "CARELAY_KAFKA_BOOTSTRAP": bootstrap,
                                  "CARELAY_SCHEMA_REGISTRY_URL": registry, "CARELAY_PUBLIC_URL": PUBLIC_URL,
                                  "CARELAY_TOPIC_PREFIX": f"benchip{uuid.uuid4().hex[:6]}.",
                                  "CARELAY_LOG_LEVEL": "WARNING", "CARELAY_DEMO_API_KEYS": "true"})
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        deadline = time.monotonic() + 60
        while await _asgi_post(app, loads["send"], uuid.uuid4().hex) != 202:  # topics created, broker acking
            if time.monotonic() > deadline:
                raise SystemExit("the gateway did not accept a send within 60 s")
            await asyncio.sleep(0.5)
        for name, load in loads.items():
            await _app_cpu(app, load, min(500, requests), concurrency)  # warm-up
            cpu, failed = await _app_cpu(app, load, requests, concurrency)
            if failed:
                raise SystemExit(f"in-process {name}: {failed} of {requests} requests failed")
            results[f"gateway {name}"] = cpu
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
