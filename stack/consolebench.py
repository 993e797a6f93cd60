"""The staff console's speed, printed by `make bench` (`--console-only` runs this part alone).

1. Load: N message states, C conversations (one staff notice, one appointment plan each, an answer on
   two thirds of them) and one long thread (500 messages each way, sealed) are produced to the
   gateway's topics through the real broker, and the
   gateway's views read them as they would in production.
2. Page server time: each console page, requested R times in a row through the ASGI app, timed inside
   the process from the request's arrival to the last byte of the answer (so the client's own work is
   not counted). The pages audit before answering, so the audit record's acknowledgement by Kafka is in
   the figure.
3. Live notices: S Server-Sent-Event streams open on a real uvicorn gateway process (the same topics,
   views loaded); one notice is produced, and each stream's arrival is timed from Kafka's
   acknowledgement of that record.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

import httpx
from confluent_kafka import Producer
from starlette.testclient import TestClient

from gateway.app import create_app
from gateway.console.context import Console, dom_id
from gateway.console.users import AccountWriter, new_account
from schemas.phi import Binding, PhiCipher
from schemas.registry import ConfluentRegistry
from schemas.settings import Settings
from schemas.topics import BoundTopic, Catalog
from stack.javaproc import free_port

ORG, OTHER = "demo-clinic", "other-clinic"
USER, PASSWORD = "bench-staff", "bench-console-password"
HOUR_MS = 3_600_000
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
THREAD_RID = "rid-bench-000001"  # a patient of ORG with a long thread both ways (`thread`)
THREAD = 500  # messages each way: all the conversation views keep per patient (thread_views.PER_PATIENT)
PAGES = ("/console/inbox", "/console/inbox?reason=cancel_requested", "/console/appointments",
         "/console/appointments?when=today", "/console/appointments?answer=no_answer",
         f"/console/patients/{THREAD_RID}/conversation")
ANSWERS = ("appointment.confirmed", "appointment.cancel_requested")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))] if ordered else float("nan")


class ServerTimer:
    """ASGI wrapper: milliseconds from a request's arrival to its last body byte, per request."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.times: list[float] = []

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[Message]],
                      send: Callable[[Message], Awaitable[None]]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()

        async def timed(message: Message) -> None:
            if message["type"] == "http.response.body" and not message.get("more_body"):
                self.times.append((time.perf_counter() - start) * 1000)
            await send(message)

        await self.app(scope, receive, timed)


def environment(bootstrap: str, registry: str, data: Path) -> dict[str, str]:
    return {"CARELAY_KAFKA_BOOTSTRAP": bootstrap, "CARELAY_SCHEMA_REGISTRY_URL": registry,
            "CARELAY_TOPIC_PREFIX": f"cb{uuid.uuid4().hex[:6]}.", "CARELAY_DATA_DIR": str(data),
            "CARELAY_DEMO_API_KEYS": "true", "CARELAY_LOG_LEVEL": "WARNING"}


def notice(org: str, recipient: str, now: int, i: int, reason: str = "cancel_requested") -> dict[str, Any]:
    return {"event_id": f"bench:{recipient}:{i}:staff.attention_needed", "type": "staff.attention_needed",
            "organization_id": org, "recipient_id": recipient, "appointment_id": f"appt-{recipient}",
            "message_id": f"m-{recipient}-0", "reason": reason, "channel": "WHATSAPP", "language": "es",
            "text": None, "correlation_id": None, "occurred_at": now - i, "details": {}}


def fill(settings: Settings, topics: Catalog, messages: int, conversations: int) -> None:
    """Produce the load: `messages` message states over `conversations` patients of one clinic (a few of
    another), a notice and a plan per conversation, an answer for two thirds of the plans."""
    producer = Producer({"bootstrap.servers": settings.kafka.bootstrap, "linger.ms": 20,
                         "queue.buffering.max.messages": 500_000})
    now = int(time.time() * 1000)

    def put(topic: BoundTopic, key: str, record: dict[str, Any]) -> None:
        while True:
            try:
                producer.produce(topic.name, topic.codec.encode(record), key)
                return
            except BufferError:
                producer.poll(0.05)

    rid = [f"rid-bench-{i:06d}" for i in range(conversations)]
    org_of = [OTHER if i % 20 == 0 else ORG for i in range(conversations)]
    for m in range(messages):
        i = m % conversations
        put(topics.message_state, f"m-{rid[i]}-{m}", {
            "message_id": f"m-{rid[i]}-{m}", "organization_id": org_of[i], "recipient_id": rid[i],
            "status": "delivered", "channel": "WHATSAPP", "created_at": now - m, "updated_at": now - m})
    reasons = ("cancel_requested", "unclear_reply", "reschedule_requested", "loop_paused")
    for i in range(conversations):
        put(topics.staff_notifications, rid[i], notice(org_of[i], rid[i], now, i, reasons[i % len(reasons)]))
        start = now + (i % 14 * 24 - 2) * HOUR_MS + (i * 37_000) % (20 * HOUR_MS)
        put(topics.appointment_plans, f"{org_of[i]}|appt-{rid[i]}", {
            "organization_id": org_of[i], "appointment_id": f"appt-{rid[i]}", "recipient_id": rid[i],
            "kind": "BOOKED", "start_at": start, "timezone": "America/Mexico_City", "urgent": False,
            "reminders": [{"name": "24h", "offset_s": 86400, "due_at": start - 24 * HOUR_MS, "state": "sent",
                           "reason": None, "message_id": f"m-{rid[i]}-0"},
                          {"name": "2h", "offset_s": 7200, "due_at": start - 2 * HOUR_MS, "state": "scheduled",
                           "reason": None, "message_id": None}],
            "impossible": None, "updated_at": now})
        if i % 3:
            put(topics.appointment_events, rid[i], {
                "event_id": f"bench:{rid[i]}:answer", "type": ANSWERS[i % 3 - 1], "organization_id": org_of[i],
                "recipient_id": rid[i], "appointment_id": f"appt-{rid[i]}", "message_id": f"m-{rid[i]}-0",
                "occurred_at": now - i})
    thread(settings, topics, put, now)
    if producer.flush(120) != 0:
        raise RuntimeError("the load was not all acknowledged by Kafka")


def thread(settings: Settings, topics: Catalog, put: Callable[[BoundTopic, str, dict[str, Any]], None],
           now: int) -> None:
    """A long conversation with one patient: THREAD WhatsApp messages from them and THREAD replies (free
    text, sealed as the gateway seals them) with their states; the page opens the newest 100 of them."""
    cipher, number = PhiCipher(settings.phi_keys), "+525500000001"
    for i in range(THREAD):
        at = now - (THREAD - i) * 120_000
        event_id, message_id = f"bench:in:{i}", f"m-{THREAD_RID}-reply-{i}"
        bound = Binding(ORG, event_id)
        put(topics.inbound, THREAD_RID, {
            "event_id": event_id, "provider": "meta", "channel": "WHATSAPP", "provider_message_id": f"wamid.{i}",
            "organization_id": ORG, "recipient_id": THREAD_RID, "sender": cipher.seal("sender", number, bound),
            "to_address": "100000000000001", "kind": "TEXT", "payload": None, "context_provider_message_id": None,
            "text": cipher.seal("text", f"Mensaje {i} del paciente sobre su cita", bound), "received_at": at})
        bound = Binding(ORG, message_id)
        put(topics.send_requests, THREAD_RID, {
            "message_id": message_id, "organization_id": ORG, "idempotency_key": message_id,
            "recipient": cipher.seal("recipient", number, bound), "recipient_id": THREAD_RID, "patient_ref": None,
            "recipient_name": None, "channels": ["WHATSAPP", "SMS"],
            "content": {"template": None, "language": "es", "params": None,
                        "text": cipher.seal("text", f"Respuesta {i} de la clínica", bound)},
            "priority": "NORMAL", "send_at": None, "expires_at": None, "correlation_id": None,
            "appointment_id": None, "created_at": at + 60_000, "source": "staff", "automated_reply": False,
            "metadata": {"console_user": USER}, "timezone": None})
        put(topics.message_state, message_id, {
            "message_id": message_id, "organization_id": ORG, "recipient_id": THREAD_RID, "status": "delivered",
            "channel": "WHATSAPP", "created_at": at + 60_000, "updated_at": at + 65_000, "is_final": True,
            "history": [{"status": s, "at": at + 60_000 + k, "channel": "WHATSAPP", "provider": "meta",
                         "attempt_id": f"{message_id}:0", "source": "provider"}
                        for k, s in enumerate(("accepted", "sent", "delivered"))]})


def add_account(settings: Settings) -> None:
    with AccountWriter(settings) as writer:
        writer.put(new_account(ORG, USER, "staff", PASSWORD), "bench")


def wait(check: Callable[[], bool], what: str, timeout_s: float = 300) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.2)


def sign_in(client: httpx.Client | TestClient) -> None:
    deadline = time.monotonic() + 120
    while True:  # 503 while the console's views are still loading
        try:
            _sign_in(client)
            return
        except Loading:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


class Loading(Exception):
    pass


def _sign_in(client: httpx.Client | TestClient) -> None:
    page = client.get("/console/signin")
    found = CSRF.search(page.text)
    if found is None:
        raise RuntimeError(f"no sign-in form ({page.status_code})")
    r = client.post("/console/signin", data={"organization": ORG, "username": USER, "password": PASSWORD,
                                             "csrf": found.group(1), "next": "/console/inbox"},
                    follow_redirects=False)
    if r.status_code == 503:
        raise Loading()
    if r.status_code != 303:
        raise RuntimeError(f"sign-in answered {r.status_code}")


def page_times(env: dict[str, str], messages: int, conversations: int, requests: int) -> dict[str, Any]:
    settings = Settings.from_env(env)
    timer = ServerTimer(create_app(settings))
    with TestClient(timer) as client:
        svc = timer.app.state.services
        con: Console = timer.app.state.console
        wait(svc.topics_ready.is_set, "the topics")
        add_account(settings)
        t0 = time.monotonic()
        fill(settings, svc.topics, messages, conversations)
        produced_s = time.monotonic() - t0
        wait(lambda: len(svc.state) >= messages and con.loaded and con.accounts.get(ORG, USER) is not None
             and sum(len(con.plans.plans(o)) for o in (ORG, OTHER)) >= conversations
             and len(con.conversation.outbound.of(ORG, THREAD_RID)) >= THREAD
             and len(con.conversation.inbound.of(ORG, THREAD_RID)) >= THREAD, "the views")
        loaded_s = time.monotonic() - t0
        sign_in(client)
        out: dict[str, Any] = {"produced_s": produced_s, "views_loaded_s": loaded_s, "pages": {}}
        for path in PAGES:
            for _ in range(3):  # warm: templates compiled, connections open
                client.get(path)
            timer.times.clear()
            for _ in range(requests):
                r = client.get(path)
                if r.status_code != 200:
                    raise RuntimeError(f"{path} answered {r.status_code}")
            t = list(timer.times)
            out["pages"][path] = {"p50_ms": pct(t, 0.5), "p95_ms": pct(t, 0.95), "max_ms": max(t), "n": len(t),
                                  "bytes": len(r.content)}
    return out


async def _listen(client: httpx.AsyncClient, cookie: str, marker: str, opened: asyncio.Event,
                  count: list[int], total: int, arrived: list[float]) -> None:
    async with client.stream("GET", "/console/inbox/events", cookies={"carelay_console": cookie},
                             timeout=httpx.Timeout(10.0, read=60.0)) as r:
        if r.status_code != 200:
            raise RuntimeError(f"the stream answered {r.status_code}")
        seen_first = False
        async for line in r.aiter_lines():
            if not seen_first:
                seen_first = True
                count[0] += 1
                if count[0] == total:
                    opened.set()
            if marker in line:
                arrived.append(time.monotonic())
                return


async def _fanout(base: str, cookie: str, settings: Settings, topic: BoundTopic, streams: int,
                  timeout_s: float) -> dict[str, Any]:
    recipient = f"rid-live-{uuid.uuid4().hex[:8]}"
    record = notice(ORG, recipient, int(time.time() * 1000) + 1000, 0, "unclear_reply")
    marker = dom_id(record["event_id"])
    opened, count, arrived = asyncio.Event(), [0], list[float]()
    limits = httpx.Limits(max_connections=streams + 10, max_keepalive_connections=streams + 10)
    async with httpx.AsyncClient(base_url=base, limits=limits) as client:
        tasks = [asyncio.create_task(_listen(client, cookie, marker, opened, count, streams, arrived))
                 for _ in range(streams)]
        await asyncio.wait_for(opened.wait(), 60)
        await asyncio.sleep(1.0)  # every subscription registered with the hub
        producer = Producer({"bootstrap.servers": settings.kafka.bootstrap})
        producer.produce(topic.name, topic.codec.encode(record), recipient)
        producer.flush(10)
        acked = time.monotonic()
        done, pending = await asyncio.wait(tasks, timeout=timeout_s)
        for task in pending:
            task.cancel()
        failed = sum(1 for task in done if task.exception() is not None)
    late = [(t - acked) * 1000 for t in arrived]
    return {"streams": streams, "received": len(late), "failed": failed, "p50_ms": pct(late, 0.5),
            "p95_ms": pct(late, 0.95), "max_ms": max(late) if late else float("nan")}


def sse_fanout(env: dict[str, str], streams: int, log: Path) -> dict[str, Any]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "uvicorn", "gateway.app:create_app", "--factory", "--host", "127.0.0.1",
           "--port", str(port), "--no-access-log", "--log-level", "warning"]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603
        try:
            def ready() -> bool:
                if proc.poll() is not None:
                    raise RuntimeError(f"the gateway exited: see {log}")
                try:
                    return httpx.get(f"{base}/readyz", timeout=2).status_code == 200
                except httpx.HTTPError:
                    return False

            t0 = time.monotonic()
            wait(ready, "the uvicorn gateway")
            loaded_s = time.monotonic() - t0
            with httpx.Client(base_url=base) as client:
                sign_in(client)
                cookie = client.cookies.get("carelay_console")
            if cookie is None:
                raise RuntimeError("no session cookie after sign-in")
            settings = Settings.from_env(env)
            topic = Catalog(settings.kafka.topic_prefix, ConfluentRegistry(settings.kafka.schema_registry_url)
                            ).staff_notifications
            result = asyncio.run(_fanout(base, cookie, settings, topic, streams, 10.0))
            return {**result, "gateway_ready_s": loaded_s}
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()


def report(r: dict[str, Any]) -> str:
    lines = [f"console: {r['messages']:,} messages, {r['conversations']:,} conversations in the views "
             f"(produced in {r['pages']['produced_s']:.1f} s, views loaded {r['pages']['views_loaded_s']:.1f} s)",
             f"  page server time over {r['requests']} requests each (target p95 <= 150 ms):",
             f"  {'page':<50}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}{'KiB':>7}"]
    for path, t in r["pages"]["pages"].items():
        lines.append(f"  {path:<50}{t['p50_ms']:>9.1f}{t['p95_ms']:>9.1f}{t['max_ms']:>9.1f}{t['bytes'] / 1024:>7.0f}")
    s = r.get("sse")
    if s:
        lines.append(f"  live notice to {s['streams']} open SSE streams (target: all within 1 s): received "
                     f"{s['received']}, failed {s['failed']}, p50 {s['p50_ms']:.0f} ms, p95 {s['p95_ms']:.0f} ms, "
                     f"max {s['max_ms']:.0f} ms after Kafka acknowledged it")
    return "\n".join(lines)


def run(bootstrap: str, registry: str, messages: int, conversations: int, requests: int,
        streams: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="carelay-consolebench-") as tmp:
        env = environment(bootstrap, registry, Path(tmp))
        print(f"console: {messages} messages, {conversations} conversations into the views ...", flush=True)
        pages = page_times(env, messages, conversations, requests)
        result: dict[str, Any] = {"messages": messages, "conversations": conversations, "requests": requests,
                                  "pages": pages}
        if streams:
            print(f"console: {streams} SSE streams on a uvicorn gateway ...", flush=True)
            result["sse"] = sse_fanout(env, streams, Path(tmp) / "gateway.log")
    return result


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--console-messages", type=int, default=100_000)
    p.add_argument("--console-conversations", type=int, default=10_000)
    p.add_argument("--console-requests", type=int, default=100, help="requests per console page")
    p.add_argument("--console-streams", type=int, default=200, help="open SSE streams (0 skips)")
    p.add_argument("--bootstrap", help="with --console-only: a running broker instead of a throw-away one")
    p.add_argument("--registry-url", help="with --bootstrap: its schema registry")
