"""FHIR Slots on the real broker: PUT and a Bundle publish the slots topic's records, keyed per organization
and slot, audited; a bad Slot is an OperationOutcome naming the element; a sender key is needed."""
from __future__ import annotations

import orjson

from tests.gateway.helpers import SENDER, read_topic
from tests.gateway.test_fhir_slots import SCHEDULE, bundle, slot

FHIR = {**SENDER, "Content-Type": "application/fhir+json"}


def test_put_and_bundle_publish_slots(client, services, settings):
    r = client.put("/fhir/Slot/s-1", content=orjson.dumps(slot()), headers=FHIR)
    assert r.status_code == 200, r.text
    doc = bundle(SCHEDULE, {"resource": slot(id="a", schedule={"reference": "urn:uuid:sch-1"}, contained=None)},
                 {"resource": slot(id="b", status="busy", schedule={"reference": "Schedule/dr-77"}, contained=None)})
    r = client.post("/fhir", content=orjson.dumps(doc), headers=FHIR)
    assert r.status_code == 200 and [e["response"]["location"] for e in r.json()["entry"]] == ["Slot/a", "Slot/b"]

    topic = services.topics.slots
    got = read_topic(settings.kafka.bootstrap, topic.name, topic.codec, count=3)
    by_key = {k.decode(): rec for k, rec in got}
    assert set(by_key) == {"demo-clinic|s-1", "demo-clinic|a", "demo-clinic|b"}
    assert by_key["demo-clinic|s-1"]["practitioners"] == ["Practitioner/77"]
    assert by_key["demo-clinic|b"]["status"] == "busy" and by_key["demo-clinic|a"]["locations"] == ["Location/norte"]
    assert "López" not in repr(got)

    audit = services.topics.audit
    trail = read_topic(settings.kafka.bootstrap, audit.name, audit.codec, count=2,
                       where=lambda x: x["action"] == "slot.fhir")
    assert {rec["resource"] for _, rec in trail} == {"Slot/s-1", "Bundle:2"}


def test_refusals(client):
    r = client.put("/fhir/Slot/s-1", content=orjson.dumps(slot(status="open")), headers=FHIR)
    assert r.status_code == 422 and r.json()["issue"][0]["expression"] == ["Slot.status"]
    r = client.put("/fhir/Slot/s-1", content=orjson.dumps(slot()), headers={"Content-Type": "application/fhir+json"})
    assert r.status_code == 401 and r.json()["resourceType"] == "OperationOutcome"
