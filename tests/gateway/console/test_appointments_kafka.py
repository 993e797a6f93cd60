"""The appointments page against the real broker: a plan on appointment.plans and an answer on
appointment.events reach the page of the appointment's clinic only; analysts are refused; reads audited."""
from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from confluent_kafka import Producer
from starlette.testclient import TestClient

from gateway.app import create_app
from gateway.console.context import dom_id
from schemas.settings import Settings
from schemas.topics import BoundTopic
from tests.gateway.console.support import console_of, sign_in, wait_console, wait_for, write_accounts
from tests.gateway.helpers import read_topic, wait_ready

HOUR_MS = 3_600_000


@pytest.fixture(scope="module")
def gateway(shared_settings: Settings) -> Iterator[TestClient]:
    write_accounts(shared_settings)
    with TestClient(create_app(shared_settings)) as c:
        wait_ready(c)
        wait_console(c.app)
        yield c


def produce(app: Any, settings: Settings, topic: BoundTopic, key: str, record: dict[str, Any]) -> None:
    producer = Producer({"bootstrap.servers": settings.kafka.bootstrap})
    producer.produce(topic.name, topic.codec.encode(record), key)
    assert producer.flush(10) == 0


def plan_record(org: str, appointment_id: str, start_at: int) -> dict[str, Any]:
    now = int(time.time() * 1000)
    return {"organization_id": org, "appointment_id": appointment_id, "recipient_id": f"rid-{appointment_id}",
            "kind": "BOOKED", "start_at": start_at, "timezone": "America/Mexico_City", "urgent": False,
            "reminders": [{"name": "24h", "offset_s": 86400, "due_at": now - HOUR_MS, "state": "sent",
                           "reason": None, "message_id": f"m-{appointment_id}"},
                          {"name": "2h", "offset_s": 7200, "due_at": start_at - 2 * HOUR_MS, "state": "scheduled",
                           "reason": None, "message_id": None}],
            "impossible": None, "updated_at": now}


def answer_record(org: str, appointment_id: str, kind: str) -> dict[str, Any]:
    return {"event_id": f"{uuid.uuid4().hex}:{kind}", "type": f"appointment.{kind}", "organization_id": org,
            "recipient_id": f"rid-{appointment_id}", "appointment_id": appointment_id,
            "message_id": f"m-{appointment_id}", "reason": None, "channel": "WHATSAPP", "language": "es",
            "text": None, "correlation_id": None, "occurred_at": int(time.time() * 1000), "details": {}}


def test_a_plan_and_its_answer_reach_the_clinic_page_and_no_other(gateway, shared_settings):
    topics = gateway.app.state.services.topics  # type: ignore[attr-defined]
    appt = f"appt-{uuid.uuid4().hex[:8]}"
    row = dom_id(f"appointment:{appt}")
    produce(gateway.app, shared_settings, topics.appointment_plans, f"demo-clinic|{appt}",
            plan_record("demo-clinic", appt, int(time.time() * 1000) + 30 * HOUR_MS))

    alice = TestClient(gateway.app)
    assert sign_in(alice, "demo-clinic", "alice").status_code == 303
    page = wait_for(lambda: (p := alice.get("/console/appointments?lang=en")).status_code == 200
                    and row in p.text and p, "the plan on alice's appointments page")
    assert "No answer" in page.text and "24h: sent" in page.text and "2h: scheduled" in page.text
    assert f'href="/console/patients/rid-{appt}/conversation"' in page.text  # one click to the conversation
    assert f'href="/console/appointments/{appt}"' in page.text  # and to the appointment's own page
    assert '<th scope="col" class="govuk-table__header">Patient&#39;s answer</th>' in page.text

    unanswered = alice.get("/console/appointments?answer=no_answer").text
    assert row in unanswered and row not in alice.get("/console/appointments?answer=confirmed").text

    produce(gateway.app, shared_settings, topics.appointment_events, f"rid-{appt}",
            answer_record("demo-clinic", appt, "confirmed"))
    confirmed = wait_for(lambda: row in (p := alice.get("/console/appointments?answer=confirmed").text) and p,
                         "the answer on the page")
    assert "Confirmed" in confirmed and f"/console/patients/rid-{appt}" not in confirmed
    assert "Confirmada" in alice.get("/console/appointments?lang=es").text

    olga = TestClient(gateway.app)
    assert sign_in(olga, "other-clinic", "olga").status_code == 303
    other = olga.get("/console/appointments")
    assert other.status_code == 200 and row not in other.text and appt not in other.text

    carol = TestClient(gateway.app)
    assert sign_in(carol, "demo-clinic", "carol").status_code == 303
    refused = carol.get("/console/appointments")
    assert refused.status_code == 403 and appt not in refused.text

    audit = topics.audit
    reads = read_topic(shared_settings.kafka.bootstrap, audit.name, audit.codec, count=1,
                       where=lambda r: r["action"] == "console.appointments.read" and r["actor"] == "console:olga")
    assert reads[0][1]["organization_id"] == "other-clinic"
    assert console_of(gateway.app).plans.plans("other-clinic") == []


def test_a_deleted_plan_leaves_the_page(gateway, shared_settings):
    topics = gateway.app.state.services.topics  # type: ignore[attr-defined]
    appt = f"appt-{uuid.uuid4().hex[:8]}"
    key = f"demo-clinic|{appt}"
    produce(gateway.app, shared_settings, topics.appointment_plans, key,
            plan_record("demo-clinic", appt, int(time.time() * 1000) + 30 * HOUR_MS))
    con = console_of(gateway.app)
    wait_for(lambda: any(p.appointment_id == appt for p in con.plans.plans("demo-clinic")), "the plan in the view")
    producer = Producer({"bootstrap.servers": shared_settings.kafka.bootstrap})
    producer.produce(topics.appointment_plans.name, None, key)
    assert producer.flush(10) == 0
    wait_for(lambda: all(p.appointment_id != appt for p in con.plans.plans("demo-clinic")), "the plan gone")
