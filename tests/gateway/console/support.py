"""Console test support: accounts written to Kafka, signing in through the pages, notices produced."""
from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from confluent_kafka import Producer

from gateway.console.context import Console, dom_id
from gateway.console.users import AccountWriter, new_account
from schemas.settings import Settings
from schemas.topics import BoundTopic

PASSWORD = "correct horse battery"
ACCOUNTS = (("demo-clinic", "alice", "staff"), ("demo-clinic", "bob", "staff"), ("demo-clinic", "carol", "analyst"),
            ("other-clinic", "olga", "staff"), ("demo-clinic", "dana", "admin"))
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def write_accounts(settings: Settings) -> None:
    with AccountWriter(settings) as writer:
        for org, user, role in ACCOUNTS:
            writer.put(new_account(org, user, role, PASSWORD), "test")


def console_of(app: Any) -> Console:
    con: Console = app.state.console
    return con


def wait_for(check: Callable[[], Any], what: str, timeout_s: float = 20) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def wait_console(app: Any) -> None:
    con = console_of(app)
    wait_for(lambda: con.loaded and all(con.accounts.get(o, u) for o, u, _ in ACCOUNTS), "the console's views")


def csrf(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no csrf field on the page"
    return found.group(1)


def sign_in(client: Any, org: str, user: str, password: str = PASSWORD) -> Any:
    page = client.get("/console/signin")
    assert page.status_code == 200, page.text
    return client.post("/console/signin", data={"organization": org, "username": user, "password": password,
                                                "csrf": csrf(page.text), "next": "/console/inbox"},
                       follow_redirects=False)


def notice_record(org: str, reason: str = "cancel_requested") -> dict[str, Any]:
    inbound = f"twilio:SM{uuid.uuid4().hex[:12]}"
    return {"event_id": f"{inbound}:staff.attention_needed", "type": "staff.attention_needed",
            "organization_id": org, "recipient_id": f"rid-{uuid.uuid4().hex[:8]}", "appointment_id": "appt-7",
            "message_id": "m-7", "reason": reason, "channel": "WHATSAPP", "language": "es", "text": None,
            "correlation_id": None, "occurred_at": int(time.time() * 1000), "details": {}}


def produce_notice(app: Any, settings: Settings, record: dict[str, Any]) -> str:
    topic: BoundTopic = app.state.services.topics.staff_notifications
    producer = Producer({"bootstrap.servers": settings.kafka.bootstrap})
    producer.produce(topic.name, topic.codec.encode(record), record["recipient_id"])
    assert producer.flush(10) == 0
    return dom_id(record["event_id"])


def notice_id_of(html: str, domid: str) -> str:
    """The notice id in the action URL of the notice whose element id is `domid`."""
    found = re.search(rf'id="{domid}".*?action="/console/inbox/([^"]+)"', html, re.S)
    assert found, "no action form for the notice"
    return unquote(found.group(1))
