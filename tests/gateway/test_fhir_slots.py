"""FHIR Slots parsed into FhirSlots, as tables: the schedule's practitioner and location, the refusals by element."""
from __future__ import annotations

from typing import Any

import pytest

from gateway.fhir_parse import FhirInvalid
from gateway.fhir_slots import is_slot_bundle, parse_slot, parse_slot_bundle

START, END = "2026-05-04T10:00:00-06:00", "2026-05-04T10:30:00-06:00"


def slot(**over: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "resourceType": "Slot", "id": "s-1", "status": "free", "start": START, "end": END,
        "schedule": {"reference": "#sch"},
        "contained": [{"resourceType": "Schedule", "id": "sch", "actor": [
            {"reference": "Practitioner/77", "display": "Dra. López"}, {"reference": "Location/norte"}]}],
    }
    doc.update(over)
    return {k: v for k, v in doc.items() if v is not None}


def test_a_contained_schedule_gives_practitioner_and_location_references_never_names() -> None:
    s = parse_slot(slot(), "Slot", {}, path_id="s-1")
    assert (s.slot_id, s.status, s.schedule) == ("s-1", "free", "Schedule/sch")
    assert (s.practitioners, s.locations) == (("Practitioner/77",), ("Location/norte",))
    assert s.end_at_ms - s.start_at_ms == 30 * 60_000 and "López" not in repr(s)


@pytest.mark.parametrize(("doc", "expression"), [
    pytest.param(slot(resourceType="Appointment"), "Slot.resourceType", id="not-a-slot"),
    pytest.param(slot(id="s-2"), "Slot.id", id="id-differs-from-path"),
    pytest.param(slot(status="open"), "Slot.status", id="unknown-status"),
    pytest.param(slot(schedule=None), "Slot.schedule", id="no-schedule"),
    pytest.param(slot(schedule={"reference": "#missing"}), "Slot.schedule.reference", id="contained-missing"),
    pytest.param(slot(start="2026-05-04T10:00:00"), "Slot.start", id="start-without-offset"),
    pytest.param(slot(end=START), "Slot.end", id="end-not-after-start"),
    pytest.param(slot(end=None), "Slot.end", id="no-end"),
    pytest.param(slot(meta="3"), "Slot.meta", id="meta-not-an-object"),
])
def test_refusals_name_the_element(doc: dict[str, Any], expression: str) -> None:
    with pytest.raises(FhirInvalid) as info:
        parse_slot(doc, "Slot", {}, path_id="s-1")
    assert info.value.issues[0].expression == expression


def bundle(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "transaction", "entry": list(entries)}


SCHEDULE = {"fullUrl": "urn:uuid:sch-1", "resource": {"resourceType": "Schedule", "id": "dr-77", "actor": [
    {"reference": "PractitionerRole/77-norte"}, {"reference": "Location/norte"}]}}


def test_a_bundle_of_slots_finds_their_schedule_by_full_url_or_id() -> None:
    by_url = slot(id="a", schedule={"reference": "urn:uuid:sch-1"}, contained=None)
    by_id = slot(id="b", status="busy", schedule={"reference": "Schedule/dr-77"}, contained=None)
    unknown = slot(id="c", schedule={"reference": "Schedule/elsewhere"}, contained=None)
    doc = bundle(SCHEDULE, {"resource": by_url}, {"resource": by_id}, {"resource": unknown})
    assert is_slot_bundle(doc)
    got = parse_slot_bundle(doc)
    assert [(s.slot_id, s.status, s.practitioners, s.locations) for s in got] == [
        ("a", "free", ("PractitionerRole/77-norte",), ("Location/norte",)),
        ("b", "busy", ("PractitionerRole/77-norte",), ("Location/norte",)),
        ("c", "free", (), ()),  # a schedule the Bundle does not hold: no actors to match on
    ]


@pytest.mark.parametrize(("doc", "slot_bundle"), [
    pytest.param(bundle({"resource": slot()}), True, id="slots"),
    pytest.param(bundle({"resource": {"resourceType": "Appointment"}}), False, id="appointments"),
    pytest.param({"resourceType": "Slot"}, False, id="not-a-bundle"),
    pytest.param(bundle(), False, id="empty"),
])
def test_which_door_takes_a_bundle(doc: dict[str, Any], slot_bundle: bool) -> None:
    assert is_slot_bundle(doc) is slot_bundle


def test_a_bundle_is_all_or_nothing_and_does_not_mix_appointments() -> None:
    with pytest.raises(FhirInvalid) as info:
        parse_slot_bundle(bundle({"resource": slot(id="a")}, {"resource": slot(id="b", status="open")},
                                 {"resource": slot(id="c", end=START)}))
    assert [i.expression for i in info.value.issues] == ["Bundle.entry[1].resource.status",
                                                          "Bundle.entry[2].resource.end"]
    with pytest.raises(FhirInvalid) as mixed:
        parse_slot_bundle(bundle({"resource": slot()}, {"resource": {"resourceType": "Appointment"}}))
    assert mixed.value.issues[0].expression == "Bundle.entry[1]"
