"""The patient page on the real broker: found by phone number (never stored, logged or in a URL), the
patient's own words opened for staff and audited per view, refused to analysts, empty to other clinics."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from gateway.app import create_app
from schemas.phi import PhiCipher, binding_of
from schemas.settings import Settings
from tests.gateway.console.support import (
    csrf,
    notice_record,
    produce_notice,
    sign_in,
    wait_console,
    wait_for,
    write_accounts,
)
from tests.gateway.helpers import read_topic, wait_ready

TYPED = "+52 (55) 1234-5678"  # as a receptionist types it
CANONICAL = "+525512345678"
WORDS = "Me duele mucho la rodilla, ¿puedo ir hoy?"


@pytest.fixture(scope="module")
def gateway(shared_settings: Settings) -> Iterator[TestClient]:
    write_accounts(shared_settings)
    with TestClient(create_app(shared_settings)) as c:
        wait_ready(c)
        wait_console(c.app)
        yield c


@pytest.fixture(scope="module")
def patient(gateway: TestClient, shared_settings: Settings) -> tuple[str, str]:
    """A notice with the patient's words about the test number: (pseudonym, the notice's element id)."""
    svc = gateway.app.state.services  # type: ignore[attr-defined]
    rid = svc.pseudonymize("demo-clinic", CANONICAL)
    record = {**notice_record("demo-clinic", "unclear_reply"), "recipient_id": rid}
    record["text"] = PhiCipher(shared_settings.phi_keys).seal("text", WORDS, binding_of("CareEvent", record))
    domid = produce_notice(gateway.app, shared_settings, record)
    wait_for(lambda: any(n.recipient_id == rid for n in svc.staff.held("demo-clinic")), "the notice in the view")
    return rid, domid


def test_staff_find_the_patient_by_phone_and_read_their_words_and_each_view_is_audited(gateway, patient,
                                                                                        shared_settings):
    rid, domid = patient
    alice = TestClient(gateway.app)
    sign_in(alice, "demo-clinic", "alice")
    find = alice.get("/console/patients")
    assert find.status_code == 200 and '<label class="govuk-label" for="phone">' in find.text
    r = alice.post("/console/patients/find", data={"phone": TYPED, "csrf": csrf(find.text)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/console/patients/{rid}"
    page = alice.get(r.headers["location"])
    assert page.status_code == 200 and WORDS in page.text and f"patient-{domid}-words" in page.text
    assert "5512345678" not in page.text and page.headers["cache-control"] == "no-store"
    inbox = alice.get("/console/inbox")
    assert f'href="/console/patients/{rid}"' in inbox.text and WORDS not in inbox.text  # the inbox holds no words

    topic = gateway.app.state.services.topics.audit  # type: ignore[attr-defined]
    views = read_topic(shared_settings.kafka.bootstrap, topic.name, topic.codec, count=1,
                       where=lambda x: x["action"] == "console.phi.read" and x["resource"] == rid)
    finds = read_topic(shared_settings.kafka.bootstrap, topic.name, topic.codec, count=1,
                       where=lambda x: x["action"] == "console.patient.find" and x["actor"] == "console:alice")
    assert views[0][1]["actor"] == "console:alice" and views[0][1]["details"]["texts_opened"] == "1"
    assert views[0][1]["remote_addr"]
    trail = repr(views) + repr(finds)
    assert "5512345678" not in trail and WORDS not in trail


def test_an_analyst_never_sees_the_patients_words(gateway, patient):
    rid, _ = patient
    carol = TestClient(gateway.app)
    sign_in(carol, "demo-clinic", "carol")
    r = carol.get(f"/console/patients/{rid}")
    assert r.status_code == 403 and WORDS not in r.text
    assert carol.get("/console/patients").status_code == 403


def test_another_clinic_finds_nothing_under_the_same_number(gateway, patient):
    rid, _ = patient
    olga = TestClient(gateway.app)
    sign_in(olga, "other-clinic", "olga")
    r = olga.get(f"/console/patients/{rid}")
    assert r.status_code == 404 and WORDS not in r.text
    find = olga.get("/console/patients")
    r = olga.post("/console/patients/find", data={"phone": TYPED, "csrf": csrf(find.text)}, follow_redirects=False)
    assert r.headers["location"] != f"/console/patients/{rid}"  # another organization, another pseudonym


@pytest.mark.parametrize("phone", [pytest.param("55 1234 5678", id="no-country-code"),
                                   pytest.param("+52 55 12", id="too-short"), pytest.param("", id="empty")])
def test_a_number_that_is_not_one_is_refused_with_the_error_summary(gateway, phone):
    alice = TestClient(gateway.app)
    sign_in(alice, "demo-clinic", "alice")
    find = alice.get("/console/patients")
    r = alice.post("/console/patients/find", data={"phone": phone, "csrf": csrf(find.text)})
    assert r.status_code == 400 and 'href="#phone"' in r.text and 'aria-describedby="phone-hint phone-error"' in r.text


def test_finding_without_the_forms_token_is_refused(gateway):
    alice = TestClient(gateway.app)
    sign_in(alice, "demo-clinic", "alice")
    r = alice.post("/console/patients/find", data={"phone": TYPED})
    assert r.status_code == 403 and "Nothing was done" in r.text


@pytest.fixture(scope="module")
def message(gateway: TestClient, shared_settings: Settings) -> str:
    """A delivered message of demo-clinic in the message-state view (with a retry and a late status)."""
    import uuid

    from confluent_kafka import Producer

    from schemas.phi import Pseudonymizer
    from tests.schemas.examples import examples

    svc = gateway.app.state.services  # type: ignore[attr-defined]
    record = examples(PhiCipher(shared_settings.phi_keys), Pseudonymizer(b"\x01" * 32))["MessageState"]
    message_id = str(uuid.uuid4())
    record = {**record, "message_id": message_id, "organization_id": "demo-clinic"}
    topic = svc.topics.message_state
    producer = Producer({"bootstrap.servers": shared_settings.kafka.bootstrap})
    producer.produce(topic.name, topic.codec.encode(record), message_id)
    assert producer.flush(10) == 0
    wait_for(lambda: svc.state.get(message_id) is not None, "the message in the view")
    return message_id


def test_a_message_shows_its_lifecycle_in_words_to_its_organization_only(gateway, message, shared_settings):
    alice = TestClient(gateway.app)
    sign_in(alice, "demo-clinic", "alice")
    r = alice.get("/console/messages", params={"id": message}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/console/messages/{message}"
    page = alice.get(r.headers["location"])
    assert page.status_code == 200
    assert 'id="message-status">Delivered<' in page.text and "Retrying" in page.text
    assert "arrived late, does not change the status" in page.text and "131049" in page.text
    es = alice.get(f"/console/messages/{message}?lang=es")
    assert 'id="message-status">Entregado<' in es.text
    carol = TestClient(gateway.app)  # analysts read lifecycles: no PHI on this page
    sign_in(carol, "demo-clinic", "carol")
    assert carol.get(f"/console/messages/{message}").status_code == 200
    olga = TestClient(gateway.app)
    sign_in(olga, "other-clinic", "olga")
    other = olga.get(f"/console/messages/{message}")
    assert other.status_code == 404 and "Delivered" not in other.text
    topic = gateway.app.state.services.topics.audit  # type: ignore[attr-defined]
    reads = read_topic(shared_settings.kafka.bootstrap, topic.name, topic.codec, count=2,
                       where=lambda x: x["action"] == "console.message.read" and x["resource"] == message)
    assert {x["actor"] for _, x in reads} >= {"console:alice"}


def test_an_appointment_shows_its_reminder_plan_to_staff_of_its_organization(gateway, shared_settings):
    import uuid

    from confluent_kafka import Producer

    from schemas.phi import Pseudonymizer
    from tests.schemas.examples import examples

    svc = gateway.app.state.services  # type: ignore[attr-defined]
    appointment_id = f"appt-{uuid.uuid4().hex[:8]}"
    record = {**examples(PhiCipher(shared_settings.phi_keys), Pseudonymizer(b"\x01" * 32))["AppointmentPlan"],
              "organization_id": "demo-clinic", "appointment_id": appointment_id}
    topic = svc.topics.appointment_plans
    producer = Producer({"bootstrap.servers": shared_settings.kafka.bootstrap})
    producer.produce(topic.name, topic.codec.encode(record), f"demo-clinic|{appointment_id}")
    assert producer.flush(10) == 0
    wait_for(lambda: svc.plans.get("demo-clinic", appointment_id) is not None, "the plan in the view")

    alice = TestClient(gateway.app)
    sign_in(alice, "demo-clinic", "alice")
    r = alice.get("/console/appointments/find", params={"id": appointment_id}, follow_redirects=False)
    assert r.headers["location"] == f"/console/appointments/{appointment_id}"
    page = alice.get(r.headers["location"], headers={"Accept-Language": "pt-BR"})
    assert page.status_code == 200 and 'id="appointment-status">Marcada<' in page.text
    assert "Enviado" in page.text and "Agendado" in page.text and "quiet_hours" in page.text
    assert 'href="/console/messages/' in page.text  # the sent reminder's message
    carol = TestClient(gateway.app)
    sign_in(carol, "demo-clinic", "carol")
    assert carol.get(f"/console/appointments/{appointment_id}").status_code == 403  # a date is PHI
    olga = TestClient(gateway.app)
    sign_in(olga, "other-clinic", "olga")
    assert olga.get(f"/console/appointments/{appointment_id}").status_code == 404
    audit = svc.topics.audit
    reads = read_topic(shared_settings.kafka.bootstrap, audit.name, audit.codec, count=1,
                       where=lambda x: x["action"] == "console.appointment.read" and x["resource"] == appointment_id)
    assert reads[0][1]["actor"] == "console:alice"
