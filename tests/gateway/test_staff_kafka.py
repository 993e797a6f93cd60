"""GET /v1/staff/notifications on the real broker: CareEvents on staff.notifications read back per
organization, bounded, audited, without the patient's text; bad queries get machine-readable 4xx."""
from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from confluent_kafka import Producer
from starlette.testclient import TestClient

from gateway.app import create_app
from schemas.phi import PhiCipher
from schemas.settings import Settings
from schemas.topics import BoundTopic
from tests.gateway.helpers import ADMIN, ANALYST, AUDITOR, OTHER, SENDER, read_topic, wait_ready

WORDS = "no puedo ir, tengo cita con el oncologo"
PATH = "/v1/staff/notifications"


def care_event(org: str, i: int, at_ms: int, cipher: PhiCipher, reason: str = "unclear_reply") -> dict[str, Any]:
    inbound = f"twilio:SM{uuid.uuid4().hex[:10]}"
    return {"event_id": f"{inbound}:staff.attention_needed", "type": "staff.attention_needed",
            "organization_id": org, "recipient_id": f"rid-{org}-{i}", "appointment_id": f"appt-{i}",
            "message_id": f"m-{i}", "reason": reason, "channel": "WHATSAPP", "language": "es",
            "text": cipher.seal("text", WORDS), "correlation_id": None, "occurred_at": at_ms,
            "details": {"inbound_event_id": inbound}}


def produce(client: TestClient, settings: Settings, records: list[dict[str, Any]]) -> BoundTopic:
    topic = services_topic(client, "staff_notifications")
    producer = Producer({"bootstrap.servers": settings.kafka.bootstrap})
    for rec in records:
        producer.produce(topic.name, topic.codec.encode(rec), rec["recipient_id"])
    assert producer.flush(10) == 0
    return topic


def wait_for(check: Callable[[], Any], what: str, timeout_s: float = 20) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def ids(client: TestClient, headers: dict[str, str], **params: str) -> list[str]:
    r = client.get(PATH, params=params, headers=headers)
    assert r.status_code == 200, r.text
    return [n["event_id"] for n in r.json()["notifications"]]


def test_each_organization_reads_its_own_notifications_without_the_text(settings: Settings):
    cipher = PhiCipher(settings.phi_keys)
    now = int(time.time() * 1000)
    before = [care_event("demo-clinic", i, now - 60_000 + i, cipher) for i in range(3)]
    with TestClient(create_app(settings)) as first:  # creates the topics
        wait_ready(first)
        produce(first, settings, before)
    with TestClient(create_app(settings)) as client:  # a restart reads the topic from its beginning
        wait_ready(client)  # ready means the view caught up: no waiting for these three
        assert ids(client, SENDER) == [r["event_id"] for r in before]

        mine = [care_event("demo-clinic", 10 + i, now + i, cipher, "cancel_requested") for i in range(2)]
        theirs = [care_event("other-clinic", 20, now, cipher, "loop_paused")]
        topic = produce(client, settings, mine + theirs + [mine[0]])  # mine[0] twice: a replay collapses
        want = [r["event_id"] for r in before + mine]
        wait_for(lambda: ids(client, SENDER) == want and ids(client, OTHER), "the new notifications")
        assert ids(client, OTHER) == [theirs[0]["event_id"]]
        assert ids(client, ADMIN) == ids(client, AUDITOR) == want

        r = client.get(PATH, headers=SENDER)
        doc = r.json()
        first = doc["notifications"][3]
        assert (first["type"], first["reason"], first["appointment_id"], first["recipient_id"], first["channel"],
                first["language"], first["has_text"]) == (
            "staff.attention_needed", "cancel_requested", "appt-10", "rid-demo-clinic-10", "WHATSAPP", "es", True)
        assert first["details"] == {"inbound_event_id": mine[0]["details"]["inbound_event_id"]}
        assert first["occurred_at"].endswith("Z") and "text" not in first
        assert WORDS not in r.text and "oncologo" not in r.text
        assert (doc["truncated"], doc["next_since"]) == (False, None)

        # paging: since is inclusive, next_since is where to ask again
        page = client.get(PATH, params={"limit": "2"}, headers=SENDER).json()
        assert [n["event_id"] for n in page["notifications"]] == want[:2] and page["truncated"]
        rest = ids(client, SENDER, since=page["next_since"], limit="10")
        assert rest == want[1:]
        # or exactly: next_after continues right after the last one (a burst in one millisecond pages too)
        assert ids(client, SENDER, after=page["next_after"], limit="10") == want[2:]

        # the read is audited (who, which route, how many), never what was read
        audit = services_topic(client, "audit")
        records = [rec for _, rec in read_topic(settings.kafka.bootstrap, audit.name, audit.codec, count=50,
                                                timeout_s=5, where=lambda x: x["action"] == "staff.notifications.read")]
        allowed = {(x["actor"], x["outcome"]) for x in records}
        assert {("demo-sender", "allowed"), ("other-sender", "allowed"), ("demo-auditor", "allowed")} <= allowed
        assert all(x["resource"] == PATH and "oncologo" not in repr(x) for x in records)
        assert topic.name.endswith("staff.notifications")


def services_topic(client: TestClient, attr: str) -> BoundTopic:
    topic: BoundTopic = getattr(client.app.state.services.topics, attr)  # type: ignore[attr-defined]
    return topic


def test_refusals_are_machine_readable_and_audited(client: TestClient, settings: Settings):
    r = client.get(PATH)
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthenticated"
    r = client.get(PATH, headers=ANALYST)  # analysts get counts from analytics, not patients to act on
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    for params, code, field in [({"limit": "0"}, "invalid_field", "limit"),
                                ({"limit": "x"}, "invalid_field", "limit"),
                                ({"since": "2026-05-01"}, "invalid_time", "since"),
                                ({"since": "2026-05-01T10:00:00+00:00"}, "invalid_time", "since"),  # '+' unencoded
                                ({"org": "other-clinic"}, "invalid_field", "org")]:
        query = "&".join(f"{k}={v}" for k, v in params.items())
        r = client.get(f"{PATH}?{query}", headers=SENDER)
        assert r.status_code == 422, (params, r.text)
        assert r.json()["error"]["code"] == code and r.json()["error"]["field"] == field
    assert client.get(PATH, params={"since": "2026-05-01T10:00:00+00:00"}, headers=SENDER).status_code == 200
    audit = services_topic(client, "audit")
    records = [rec for _, rec in read_topic(settings.kafka.bootstrap, audit.name, audit.codec, count=7,
                                            where=lambda x: x["action"] == "staff.notifications.read")]
    seen = {(x["actor"], x["outcome"], x["reason"]) for x in records}
    assert {("anonymous", "denied", "unauthenticated"), ("demo-analyst", "denied", "forbidden"),
            ("demo-sender", "rejected", "invalid_field"), ("demo-sender", "rejected", "invalid_time"),
            ("demo-sender", "allowed", None)} <= seen


def test_the_view_keeps_only_the_newest_per_organization(settings_env: dict[str, str]):
    settings = Settings.from_env({**settings_env, "CARELAY_GATEWAY_STAFF_VIEW_SIZE": "4"})
    cipher = PhiCipher(settings.phi_keys)
    now = int(time.time() * 1000)
    records = [care_event("demo-clinic", i, now + i, cipher) for i in range(10)]
    records += [care_event("other-clinic", 100 + i, now - 1000 + i, cipher) for i in range(3)]
    with TestClient(create_app(settings)) as client:
        wait_ready(client)
        produce(client, settings, records[::-1])  # arrival order is not time order
        newest = [r["event_id"] for r in records[6:10]]
        wait_for(lambda: ids(client, SENDER) == newest, "the newest four")
        assert len(ids(client, OTHER)) == 3  # another organization's notices do not evict these
