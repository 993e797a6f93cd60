"""The FHIR door on the real broker: AppointmentEvents read back and opened, auth, malformed bodies."""
from __future__ import annotations

import orjson
from starlette.testclient import TestClient

from gateway.app import create_app
from schemas.phi import PhiCipher, Pseudonymizer, binding_of
from tests.gateway.fhir_samples import DOCTOR, NAME, PHONE, PLACE, appointment, bundle
from tests.gateway.helpers import ANALYST, SENDER, read_topic, wait_ready

FHIR_TYPE = "application/fhir+json"
FHIR = {**SENDER, "Content-Type": FHIR_TYPE}


def put(client, doc, headers=FHIR, appt_id="apt-1"):
    return client.put(f"/fhir/Appointment/{appt_id}", content=orjson.dumps(doc), headers=headers)


def test_put_publishes_a_sealed_event_keyed_by_pseudonym(client, services, settings):
    r = put(client, appointment())
    assert r.status_code == 201, r.text  # the topic held no apt-1: created
    assert r.headers["location"] == "/fhir/Appointment/apt-1"
    assert r.headers["content-type"].startswith("application/fhir+json")
    assert r.json()["issue"][0]["severity"] == "information"
    topic = services.topics.appointments
    [(key, rec)] = read_topic(settings.kafka.bootstrap, topic.name, topic.codec, count=1)
    rid = Pseudonymizer(settings.pseudonym_key_bytes)("demo-clinic", PHONE)
    assert key == rid.encode() and rec["recipient_id"] == rid
    cipher = PhiCipher(settings.phi_keys)
    assert cipher.open("recipient", rec["recipient"], binding_of("AppointmentEvent", rec)) == PHONE
    assert cipher.open("recipient_name", rec["recipient_name"], binding_of("AppointmentEvent", rec)) == NAME
    assert cipher.open("practitioner", rec["practitioner"], binding_of("AppointmentEvent", rec)) == DOCTOR
    assert cipher.open("location", rec["location"], binding_of("AppointmentEvent", rec)) == PLACE
    assert cipher.open("patient_ref", rec["patient_ref"], binding_of("AppointmentEvent", rec)) == "p1"
    assert (rec["kind"], rec["appointment_id"], rec["language"], rec["timezone"], rec["clinic"]) == (
        "BOOKED", "apt-1", "es", "America/Mexico_City", "Clinica Norte")
    assert rec["source"] == "fhir" and rec["start_at"] == 1788280200000
    raw = topic.codec.encode(rec)
    for phi in (PHONE.encode(), NAME.encode(), DOCTOR.encode(), PLACE.encode()):
        assert phi not in raw


def test_a_moved_start_is_a_reschedule_and_cancel_follows(client, services, settings):
    assert put(client, appointment()).status_code == 201
    moved = appointment(start="2026-09-02T09:00:00-06:00", meta={"versionId": "2"})
    assert put(client, moved, headers={**SENDER, "Content-Type": "application/json"}).status_code == 200
    assert put(client, appointment("cancelled", meta={"versionId": "3"})).status_code == 200
    topic = services.topics.appointments
    records = [rec for _, rec in read_topic(settings.kafka.bootstrap, topic.name, topic.codec, count=3)]
    records.sort(key=lambda rec: rec["source_version"])
    assert [r["kind"] for r in records] == ["BOOKED", "RESCHEDULED", "CANCELLED"]
    assert records[1]["previous_start_at"] == 1788280200000


def test_bundle_publishes_each_appointment(client, services, settings):
    r = client.post("/fhir", content=orjson.dumps(bundle()), headers=FHIR)
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["type"] == "transaction-response" and doc["entry"][0]["response"]["location"] == "Appointment/apt-1"
    assert doc["entry"][0]["response"]["status"] == "201 Created"
    topic = services.topics.appointments
    [(_, rec)] = read_topic(settings.kafka.bootstrap, topic.name, topic.codec, count=1)
    assert rec["patient_ref"] is not None and rec["appointment_id"] == "apt-1"


def test_refusals_are_operation_outcomes(client, services, settings):
    r = put(client, appointment(), headers={"Content-Type": "application/fhir+json"})
    assert r.status_code == 401 and r.json()["issue"][0]["code"] == "login"
    r = put(client, appointment(), headers={**ANALYST, "Content-Type": "application/fhir+json"})
    assert r.status_code == 403 and r.json()["issue"][0]["code"] == "forbidden"
    r = client.put("/fhir/Appointment/apt-1", content=b"<Appointment/>", headers={**SENDER, "Content-Type": "text/xml"})
    assert r.status_code == 400 and r.json()["issue"][0]["code"] == "structure"
    r = client.put("/fhir/Appointment/apt-1", content=b"{not json", headers=FHIR)
    assert r.status_code == 400 and r.json()["resourceType"] == "OperationOutcome"
    bad = appointment()
    bad["contained"][0]["telecom"][1]["value"] = "55 1234 5678"
    r = put(client, bad)
    assert r.status_code == 422 and "1234" not in r.text
    assert r.json()["issue"][0]["expression"] == ["Appointment.contained(Patient).telecom[1].value"]
    topic = services.topics.appointments
    assert read_topic(settings.kafka.bootstrap, topic.name, topic.codec, count=1, timeout_s=2) == []


def _audit(services, settings, count, timeout_s=10.0):
    topic = services.topics.audit
    return [r for _, r in read_topic(settings.kafka.bootstrap, topic.name, topic.codec, count=count,
                                     timeout_s=timeout_s, where=lambda r: r["resource"] != "/readyz")]


def test_created_then_updated_is_201_then_200_and_another_process_knows_from_the_topic(client, services, settings):
    assert put(client, appointment(id="apt-9"), appt_id="apt-9").status_code == 201
    assert put(client, appointment(id="apt-9", meta={"versionId": "2"}), appt_id="apt-9").status_code == 200
    again = client.post("/fhir", content=orjson.dumps(bundle()), headers=FHIR)  # apt-1: new; then known
    assert again.json()["entry"][0]["response"]["status"] == "201 Created"
    assert client.post("/fhir", content=orjson.dumps(bundle()), headers=FHIR).json()["entry"][0]["response"][
        "status"] == "200 OK"
    # a process that never took these PUTs learns them from the appointments topic alone
    with TestClient(create_app(settings)) as other:
        wait_ready(other)
        assert put(other, appointment(id="apt-9", meta={"versionId": "3"}), appt_id="apt-9").status_code == 200
        moved = appointment(start="2026-09-03T09:00:00-06:00", meta={"versionId": "4"})
        assert put(other, moved).status_code == 200
        assert put(other, appointment(id="apt-10"), appt_id="apt-10").status_code == 201
    topic = services.topics.appointments
    records = [rec for _, rec in read_topic(settings.kafka.bootstrap, topic.name, topic.codec, count=7)]
    assert [r["kind"] for r in records if r["source_version"] == "4"] == ["RESCHEDULED"]
    created = [r for r in _audit(services, settings, 7) if r["action"] == "appointment.fhir"]
    assert sorted(r["details"].get("created") for r in created) == ["0", "0", "0", "0", "1", "1", "1"]


def test_refused_fhir_requests_are_audited_as_appointment_fhir(client, services, settings):
    assert put(client, appointment(), headers={"Content-Type": "application/fhir+json"}).status_code == 401
    assert put(client, appointment(), headers={**ANALYST, "Content-Type": "application/fhir+json"}).status_code == 403
    assert client.post("/fhir", content=orjson.dumps(bundle()), headers={"Content-Type": FHIR_TYPE}).status_code \
        == 401
    bad = appointment()
    bad["contained"][0]["telecom"][1]["period"] = "2020-01-01"  # not an object: a 422 naming it, never a 500
    r = put(client, bad)
    assert r.status_code == 422 and r.json()["issue"][0]["expression"] == [
        "Appointment.contained(Patient).telecom[1].period"]
    seen = {(r["actor"], r["action"], r["outcome"], r["reason"]) for r in _audit(services, settings, 4)}
    assert seen == {("anonymous", "appointment.fhir", "denied", "unauthenticated"),
                    ("demo-analyst", "appointment.fhir", "denied", "forbidden"),
                    ("demo-sender", "appointment.fhir", "rejected", "invalid_field")}
