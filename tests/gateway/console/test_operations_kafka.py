"""The operations page on the real broker: a circuit that opened, the dead letters of the admin's own
organization counted by reason, a dead letter's detail (sealed values never opened), its audited replay
onto its topic, and a second replay refused by this gateway process and by another one."""
from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from starlette.testclient import TestClient

from gateway.app import create_app
from schemas.settings import Settings
from schemas.topics import BoundTopic
from tests.gateway.console.support import (
    console_of,
    csrf,
    notice_record,
    sign_in,
    wait_console,
    wait_for,
    write_accounts,
)
from tests.gateway.helpers import read_topic, wait_ready

ORG = "demo-clinic"


@pytest.fixture(scope="module")
def gateway(shared_settings: Settings) -> Iterator[TestClient]:
    write_accounts(shared_settings)
    with TestClient(create_app(shared_settings)) as c:
        wait_ready(c)
        wait_console(c.app)
        yield c


def produce(settings: Settings, topic: BoundTopic, key: bytes, record: dict[str, Any]) -> None:
    producer = Producer({"bootstrap.servers": settings.kafka.bootstrap})
    producer.produce(topic.name, topic.codec.encode(record), key)
    assert producer.flush(10) == 0


def dead_letter(topic: str, value: bytes, reason: str) -> dict[str, Any]:
    return {"source_topic": topic, "source_partition": 0, "source_offset": 7, "key": b"rid-1", "value": value,
            "reason": reason, "detail": "ContractError", "message_id": None, "failed_at": int(time.time() * 1000)}


def test_an_admin_sees_circuits_and_dead_letters_and_replays_one_once(gateway, shared_settings):
    topics = gateway.app.state.services.topics
    con = console_of(gateway.app)
    now = int(time.time() * 1000)
    produce(shared_settings, topics.circuit, b"demo-clinic-wa-meta", {
        "event_id": str(uuid.uuid4()), "channel_instance": "demo-clinic-wa-meta", "provider": "meta",
        "channel": "WHATSAPP", "state": "open", "previous_state": "closed", "failures": 5, "occurred_at": now})
    notice = notice_record(ORG)
    notices = topics.staff_notifications
    produce(shared_settings, topics.dead_letter, b"rid-1",
            dead_letter(notices.name, notices.codec.encode(notice), "undecodable"))
    produce(shared_settings, topics.dead_letter, b"rid-2",
            dead_letter(notices.name, notices.codec.encode(notice_record("other-clinic")), "undecodable"))
    produce(shared_settings, topics.dead_letter, b"rid-3", dead_letter(notices.name, b"not avro", "undecodable"))
    wait_for(lambda: con.ops.dead_letters.counts(ORG) and con.ops.dead_letters.counts("other-clinic")
             and con.ops.dead_letters.counts("") and con.ops.circuits.transitions(), "the operations views")
    (mine,) = con.ops.dead_letters.of_organization(ORG)
    (theirs,) = con.ops.dead_letters.of_organization("other-clinic")

    dana = TestClient(gateway.app)
    assert sign_in(dana, ORG, "dana").status_code == 303
    page = dana.get("/console/operations")
    assert page.status_code == 200
    assert 'id="channel-demo-clinic-wa-meta-state">Open: not sending' in page.text
    assert 'id="channel-demo-clinic-sms-twilio-state">Closed' in page.text
    assert "other-clinic" not in page.text and f'id="dead-letter-{theirs.dead_letter_id}"' not in page.text
    assert f'id="dead-letter-{mine.dead_letter_id}"' in page.text
    assert 'id="dead-unattributed"' in page.text  # the undecodable one: counted, shown to nobody
    assert dana.get(f"/console/operations/deadletters/{theirs.dead_letter_id}").status_code == 404

    detail = dana.get(f"/console/operations/deadletters/{mine.dead_letter_id}")
    assert detail.status_code == 200 and notice["event_id"] in detail.text and 'id="replay-form"' in detail.text
    url = f"/console/operations/deadletters/{mine.dead_letter_id}/replay"
    assert dana.post(url, data={"why": "the schema is registered again"}).status_code == 403  # no CSRF token
    assert dana.post(url, data={"why": "no", "csrf": csrf(detail.text)}).status_code == 400
    done = dana.post(url, data={"why": "the schema is registered again", "csrf": csrf(detail.text)},
                     follow_redirects=False)
    assert done.status_code == 303
    after = dana.get(done.headers["location"])
    assert 'id="replay-done"' in after.text and "the schema is registered again" in after.text
    again = dana.post(url, data={"why": "once more", "csrf": csrf(detail.text)})
    assert again.status_code == 409 and 'id="error-already_replayed"' in again.text

    # the original record is on its topic again, and the replay is on the audit trail with who and why
    assert read_topic(shared_settings.kafka.bootstrap, notices.name, notices.codec, count=1,
                      where=lambda r: r["event_id"] == notice["event_id"])
    audit = topics.audit
    (_, record), = read_topic(shared_settings.kafka.bootstrap, audit.name, audit.codec, count=1,
                              where=lambda r: r["action"] == "console.deadletter.replay"
                              and r["resource"] == mine.dead_letter_id)
    assert record["actor"] == "console:dana" and record["details"]["why"] == "the schema is registered again"
    assert read_topic(shared_settings.kafka.bootstrap, audit.name, audit.codec, count=1,
                      where=lambda r: r["action"] == "console.deadletter.read" and r["resource"] == mine.dead_letter_id)

    # another gateway process learns of the replay from Kafka and refuses a second one too
    with TestClient(create_app(shared_settings)) as other:
        wait_ready(other)
        wait_console(other.app)
        wait_for(lambda: console_of(other.app).ops.loaded, "the other process's operations views")
        dana2 = TestClient(other.app)
        assert sign_in(dana2, ORG, "dana").status_code == 303
        page = dana2.get(f"/console/operations/deadletters/{mine.dead_letter_id}")
        assert 'id="replay-refused"' in page.text and 'id="replay-form"' not in page.text
        r = dana2.post(url, data={"why": "from another process", "csrf": csrf(page.text)})
        assert r.status_code == 409


def outcome(org: str, status: str, at_ms: int) -> dict[str, Any]:
    mid = f"m-{uuid.uuid4().hex[:8]}"
    return {"event_id": f"{mid}:0:{status}", "message_id": mid, "organization_id": org, "recipient_id": "rid-1",
            "status": status, "previous_status": None, "channel": "WHATSAPP", "provider": "meta",
            "attempt_id": f"{mid}:0", "hop": 0, "priority": "NORMAL", "template": None, "error_code": None,
            "reason": None, "is_final": True, "occurred_at": at_ms, "accepted_at": None}


def test_the_providers_error_rate_over_the_last_hour(gateway, shared_settings):
    topic = gateway.app.state.services.topics.outcomes
    now = int(time.time() * 1000)
    for org, status, at in ((ORG, "delivered", now), (ORG, "delivered", now), (ORG, "delivered", now - 60_000),
                            (ORG, "undelivered", now), (ORG, "failed", now - 2 * 3_600_000), (ORG, "sent", now),
                            ("other-clinic", "failed", now)):
        produce(shared_settings, topic, b"rid-1", outcome(org, status, at))
    con = console_of(gateway.app)
    wait_for(lambda: con.ops.rates.rates(ORG, now + 1000) and con.ops.rates.rates("other-clinic", now + 1000),
             "the outcomes in the rate view")
    dana = TestClient(gateway.app)
    assert sign_in(dana, ORG, "dana").status_code == 303
    page = dana.get("/console/operations").text
    row = page.split('id="rate-WHATSAPP-meta"', 1)[1].split("</tr>", 1)[0]
    assert [c.split("<")[0] for c in row.split('numeric">')[1:]] == ["3", "1", "25.0 %"]  # 2 hours ago: left out


def test_the_stream_workers_lag(gateway, shared_settings):
    """A consumer of the stream workers' group that committed the start of `deadletter`: the page shows
    what it has still to read there, as Kafka counts it."""
    con = console_of(gateway.app)
    topic = gateway.app.state.services.topics.dead_letter.name
    group = next(g for g, who in con.ops.lag.groups.items() if who == "streams")
    consumer = Consumer({"bootstrap.servers": shared_settings.kafka.bootstrap, "group.id": group,
                         "enable.auto.commit": False})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        consumer.commit(offsets=[TopicPartition(topic, p, 0) for p in partitions], asynchronous=False)
    finally:
        consumer.close()
    found = wait_for(lambda: [r for r in con.ops.lag.rows() if (r.who, r.topic) == ("streams", "deadletter")],
                     "the lag figures", timeout_s=40)
    assert found[0].records >= 3  # the dead letters of the first test, at least
    dana = TestClient(gateway.app)
    assert sign_in(dana, ORG, "dana").status_code == 303
    assert 'id="lag-streams-deadletter"' in dana.get("/console/operations").text


def test_staff_cannot_see_operations(gateway):
    alice = TestClient(gateway.app)
    sign_in(alice, ORG, "alice")
    assert alice.get("/console/operations").status_code == 403
    assert 'id="nav-operations"' not in alice.get("/console/inbox").text
