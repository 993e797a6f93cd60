"""The gateway's own CPU per request, without HTTP: the bare endpoint and the gateway called as ASGI
apps in this process (`python -m stack.gatewaybench --in-process`)."""
from __future__ import annotations

import asyncio
import os
import time
import uuid
from typing import Any

from stack.gatewayloads import (
    PUBLIC_URL,
    Load,
    bare_app,
    callback_load,
    meta_status_callback,
    send_body,
    send_load,
    twilio_status_callback,
)


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
    loads = {"send": send_load("/v1/messages", send_body(1, "s")),
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
