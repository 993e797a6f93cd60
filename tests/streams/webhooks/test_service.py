"""The webhook process end to end on the real broker: endpoints made through the gateway, events from the
pipeline's topics, real receivers over HTTP, retries through the worker's delay forwarders."""
from __future__ import annotations

import sys
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import orjson
import pytest
from standardwebhooks.webhooks import Webhook

from stack.javaproc import free_port
from tests.streams.harness import Proc, wait_until

ADMIN = {"demo-clinic": "demo-clinic-admin-key", "other-clinic": "other-clinic-admin-key"}


class Receiver:
    """A clinic's server: records every request; `status` and `delay_s` set how it answers."""

    def __init__(self) -> None:
        self.port = free_port()
        self.status, self.delay_s = 200, 0.0
        self.received: list[tuple[dict[str, str], bytes, float]] = []
        self.tries = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                receiver.tries += 1
                time.sleep(receiver.delay_s)
                status = receiver.status
                if status < 300:
                    receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body, time.time()))
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def events(self, secret: str) -> list[dict[str, Any]]:
        """Every event received, each verified with the Standard Webhooks reference library, a repeat of a
        webhook-id dropped as a receiver should (at-least-once: a POST that timed out may have arrived)."""
        seen, out = set(), []
        for headers, body, _ in list(self.received):
            if headers["webhook-id"] not in seen:
                seen.add(headers["webhook-id"])
                out.append(Webhook(secret).verify(body, headers))
        return out

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receivers() -> Iterator[list[Receiver]]:
    made = [Receiver() for _ in range(3)]
    yield made
    for r in made:
        r.close()


@pytest.fixture(scope="module")
def hooks(stack, worker) -> Iterator[Proc]:
    proc = Proc("webhooks", [sys.executable, "-m", "streams.webhooks", "--timeout", "2"], stack.env(),
                stack.tmp / "webhooks.log").start()
    stack.procs.append(proc)
    wait_until(lambda: "webhook endpoints loaded" in proc.tail() or not proc.alive(), 60, f"webhooks\n{proc.tail()}")
    assert proc.alive(), proc.tail()
    yield proc
    proc.stop()


def subscribe(stack, org: str, url: str, **fields: Any) -> dict[str, Any]:
    doc = {"url": url, "event_types": ["message.status_changed"], "status_changes": "all", **fields}
    r = httpx.post(f"{stack.gw_url}/v1/webhook-endpoints", json=doc,
                   headers={"authorization": f"Bearer {ADMIN[org]}"}, timeout=10)
    assert r.status_code == 201, r.text
    made = r.json()
    wait_until(lambda: any(e["endpoint_id"] == made["endpoint_id"] for e in listed(stack, org)), 10, "endpoint listed")
    time.sleep(1.0)  # the webhook process reads the same topic
    return made


def listed(stack, org: str) -> list[dict[str, Any]]:
    r = httpx.get(f"{stack.gw_url}/v1/webhook-endpoints", headers={"authorization": f"Bearer {ADMIN[org]}"},
                  timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["webhook_endpoints"]


def state(org: str, mid: str, statuses: list[str], final: bool) -> dict[str, Any]:
    now = int(time.time() * 1000)
    history = [{"status": s, "at": now - 10 * (len(statuses) - i), "channel": "SMS", "provider": "twilio",
                "attempt_id": None, "error_code": None, "source": "pipeline", "reason": None, "late": False,
                "attempt": None, "next_attempt_at": None} for i, s in enumerate(statuses)]
    return {"message_id": mid, "organization_id": org, "recipient_id": "r" * 64, "status": statuses[-1],
            "channel": "SMS", "provider": "twilio", "provider_message_id": None, "hop": 0, "is_final": final,
            "created_at": now, "updated_at": now, "history": history, "reason": None, "error_code": None,
            "next_attempt_at": None}


def publish_lifecycle(client, org: str, mid: str) -> None:
    steps = ["accepted", "sent", "delivered"]
    for n in range(1, len(steps) + 1):
        client.publish("message_state", mid.encode(), state(org, mid, steps[:n], n == len(steps)))


def statuses(events: list[dict[str, Any]], mid: str) -> list[str]:
    return [e["data"]["status"] for e in events if e["data"]["message_id"] == mid]


def test_endpoints_api_shows_the_secret_once_and_refuses_bad_fields(stack):
    r = httpx.post(f"{stack.gw_url}/v1/webhook-endpoints", json={"url": "https://x.example", "event_types": ["nope"]},
                   headers={"authorization": f"Bearer {ADMIN['demo-clinic']}"}, timeout=10)
    assert r.status_code == 422 and r.json()["error"]["field"] == "event_types", r.text
    r = httpx.get(f"{stack.gw_url}/v1/webhook-endpoints", headers={"authorization": "Bearer demo-clinic-sender-key"},
                  timeout=10)
    assert r.status_code == 403
    made = subscribe(stack, "demo-clinic", "https://clinic.example/hooks")
    assert made["secret"].startswith("whsec_")
    shown = [e for e in listed(stack, "demo-clinic") if e["endpoint_id"] == made["endpoint_id"]]
    assert shown and "secret" not in shown[0]
    assert all(e["endpoint_id"] != made["endpoint_id"] for e in listed(stack, "other-clinic"))
    gone = httpx.delete(f"{stack.gw_url}/v1/webhook-endpoints/{made['endpoint_id']}",
                        headers={"authorization": f"Bearer {ADMIN['other-clinic']}"}, timeout=10)
    assert gone.status_code == 404  # another organization's endpoint
    gone = httpx.delete(f"{stack.gw_url}/v1/webhook-endpoints/{made['endpoint_id']}",
                        headers={"authorization": f"Bearer {ADMIN['demo-clinic']}"}, timeout=10)
    assert gone.status_code == 204
    wait_until(lambda: all(e["endpoint_id"] != made["endpoint_id"] for e in listed(stack, "demo-clinic")), 10,
               "endpoint deleted")


def test_events_arrive_signed_in_order_and_after_an_outage(stack, client, hooks, receivers):
    up, down, final = receivers
    a = subscribe(stack, "demo-clinic", up.url)
    b = subscribe(stack, "other-clinic", down.url)
    c = subscribe(stack, "other-clinic", final.url, status_changes="final")
    down.status = 503
    m1, m2 = f"m-{uuid.uuid4().hex[:8]}", f"m-{uuid.uuid4().hex[:8]}"
    publish_lifecycle(client, "demo-clinic", m1)
    publish_lifecycle(client, "other-clinic", m2)
    wait_until(lambda: len(up.received) >= 3, 30, f"three events\n{hooks.tail()}")
    assert statuses(up.events(a["secret"]), m1) == ["accepted", "sent", "delivered"]  # every change, in order
    assert [e["data"]["sequence"] for e in up.events(a["secret"])] == [1, 2, 3]
    wait_until(lambda: down.tries >= 2, 30, f"retried while down\n{hooks.tail()}")  # 1 s, then 10 s apart
    down.status = 200
    wait_until(lambda: len(down.events(b["secret"])) >= 3, 40, f"delivered after the outage\n{hooks.tail()}")
    assert statuses(down.events(b["secret"]), m2) == ["accepted", "sent", "delivered"]  # held in order
    wait_until(lambda: len(final.received) >= 1, 20, "final-only endpoint")
    assert statuses(final.events(c["secret"]), m2) == ["delivered"]  # final-only, one endpoint unaffected
    m3 = f"m-{uuid.uuid4().hex[:8]}"
    publish_lifecycle(client, "other-clinic", m3)  # back up: the breaker closed, new events flow again
    wait_until(lambda: m3 in {e["data"]["message_id"] for e in down.events(b["secret"])}, 30, "after recovery")


def test_a_slow_endpoint_does_not_delay_another_organization(stack, client, hooks, receivers):
    slow, fast, _ = receivers
    slow.delay_s = 5.0  # beyond the process's 2 s timeout: every POST to it times out
    s = subscribe(stack, "demo-clinic", slow.url)
    f = subscribe(stack, "other-clinic", fast.url)
    for n in range(3):
        publish_lifecycle(client, "demo-clinic", f"slow-{n}-{uuid.uuid4().hex[:6]}")
    wait_until(lambda: slow.tries >= 1, 20, "the slow endpoint called")
    started = time.time()
    mid = f"m-{uuid.uuid4().hex[:8]}"
    publish_lifecycle(client, "other-clinic", mid)
    wait_until(lambda: len(fast.received) >= 3, 20, f"fast endpoint\n{hooks.tail()}")
    assert fast.received[-1][2] - started < 3.0, "the fast endpoint waited on the slow one"
    assert statuses(fast.events(f["secret"]), mid) == ["accepted", "sent", "delivered"]
    slow.delay_s = 0.0
    wait_until(lambda: len(slow.events(s["secret"])) >= 9, 40, f"slow endpoint caught up\n{hooks.tail()}")
    by_message: dict[str, list[str]] = {}
    for e in slow.events(s["secret"]):
        by_message.setdefault(e["data"]["message_id"], []).append(e["data"]["status"])
    assert all(v == ["accepted", "sent", "delivered"] for v in by_message.values()), by_message
    assert orjson.loads(slow.received[0][1])["type"] == "message.status_changed"


def test_after_24h_a_delivery_is_dead_lettered_and_a_replay_delivers_it(stack, client, hooks, receivers):
    from schemas.phi import Binding

    receiver = receivers[2]
    receiver.status = 503
    made = subscribe(stack, "demo-clinic", receiver.url)
    now = int(time.time() * 1000)
    did = f"evt_{uuid.uuid4().hex}"
    body = orjson.dumps({"type": "message.status_changed", "timestamp": now, "data": {"message_id": "m-old"}})
    record = {"delivery_id": did, "endpoint_id": made["endpoint_id"], "organization_id": "demo-clinic",
              "event_type": "message.status_changed", "subject": "m-old", "sequence": 0,
              "body": client.cipher.seal("webhook_body", body.decode(), Binding("demo-clinic", did)),
              "created_at": now - 25 * 3600 * 1000, "attempt": 9, "first_failed_at": now - 25 * 3600 * 1000,
              "parked": True}  # back from its last wait, failing since yesterday
    letters = client.reader("dead_letter")
    try:
        client.publish("webhook_deliveries", made["endpoint_id"].encode(), record)
        seen = letters.wait(lambda rs: [r for r in rs if r["message_id"] == did], 30, "the dead letter")
        [letter] = [r for r in seen if r["message_id"] == did]
    finally:
        letters.close()
    assert letter["reason"] == "webhook_expired" and letter["source_topic"] == client.catalog.webhook_deliveries.name
    fresh = client.catalog.webhook_deliveries.codec.decode(letter["value"])
    assert (fresh["attempt"], fresh["first_failed_at"], fresh["parked"]) == (0, None, False)
    receiver.status = 200
    client.producer.produce(letter["source_topic"], key=letter["key"], value=letter["value"])  # the console's replay
    assert client.producer.flush(10) == 0
    wait_until(lambda: receiver.events(made["secret"]), 30, f"the replayed delivery\n{hooks.tail()}")
    assert receiver.received[0][0]["webhook-id"] == did
