"""The FHIR door for Slots: `PUT /fhir/Slot/{id}` and Bundles of Slots (with their Schedules) become
records on the compacted `slots` topic, the times the clinic offers for rebooking.

A Slot's `schedule` is a Schedule contained in the Slot (`#id`), in the same Bundle (by `fullUrl` or
`Schedule/<id>`), or a plain reference whose actors are unknown; the Schedule's `actor`s give the
practitioner (Practitioner, PractitionerRole) and location (Location) references, kept as references
(ids, never names). Parsing is pure; the endpoint answers once Kafka acked every Slot and the audit
record (`slot.fhir`, gateway.fhir). A Bundle is all or nothing for validation. Errors are OperationOutcomes naming
the element.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway.fhir_parse import BUNDLE_TYPES, FhirInvalid, _instant, _list, _obj, _str, fail, version_of

STATUSES = ("busy", "free", "busy-unavailable", "busy-tentative", "entered-in-error")
PRACTITIONER_TYPES = ("Practitioner", "PractitionerRole")
MAX_BUNDLE_SLOTS = 500


@dataclass(frozen=True)
class FhirSlot:
    slot_id: str
    status: str
    schedule: str
    practitioners: tuple[str, ...]
    locations: tuple[str, ...]
    start_at_ms: int
    end_at_ms: int
    version: str | None


def _actors(schedule: Mapping[str, Any] | None, where: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    if schedule is None:
        return (), ()
    practitioners, locations = [], []
    for i, actor in enumerate(_list(schedule.get("actor"), f"{where}.actor")):
        ref = _str(_obj(actor, f"{where}.actor[{i}]", required=True).get("reference"),  # type: ignore[union-attr]
                   f"{where}.actor[{i}].reference")
        if ref is None:
            continue
        kind = ref.split("/", 1)[0]
        if kind in PRACTITIONER_TYPES:
            practitioners.append(ref)
        elif kind == "Location":
            locations.append(ref)
    return tuple(practitioners), tuple(locations)


def parse_slot(resource: Any, where: str, schedules: Mapping[str, Mapping[str, Any]], *,
               path_id: str | None) -> FhirSlot:
    """One Slot (pure). `schedules`: the Bundle's Schedules by fullUrl and `Schedule/<id>`."""
    doc = _obj(resource, where)
    assert doc is not None
    if doc.get("resourceType") != "Slot":
        raise fail("structure", "resourceType must be Slot", f"{where}.resourceType")
    slot_id = _str(doc.get("id"), f"{where}.id", required=path_id is None, limit=64) or path_id
    assert slot_id is not None
    if path_id is not None and slot_id != path_id:
        raise fail("value", "the id must match the path's", f"{where}.id")
    status = doc.get("status")
    if status not in STATUSES:
        raise fail("code-invalid", f"status must be one of {', '.join(STATUSES)}", f"{where}.status")
    sched_ref = _str(_obj(doc.get("schedule"), f"{where}.schedule").get("reference"),  # type: ignore[union-attr]
                     f"{where}.schedule.reference", required=True)
    assert sched_ref is not None
    schedule: Mapping[str, Any] | None
    if sched_ref.startswith("#"):
        contained = {c.get("id"): c for c in _list(doc.get("contained"), f"{where}.contained") if isinstance(c, dict)}
        schedule = contained.get(sched_ref[1:])
        if schedule is None or schedule.get("resourceType") != "Schedule":
            raise fail("not-found", "no contained Schedule has this id", f"{where}.schedule.reference")
        name = f"Schedule/{sched_ref[1:]}"
    else:
        schedule, name = schedules.get(sched_ref), sched_ref
    practitioners, locations = _actors(schedule, f"{where}.schedule")
    start = _instant(doc.get("start"), f"{where}.start")
    end = _instant(doc.get("end"), f"{where}.end")
    if end <= start:
        raise fail("value", "end must be after start", f"{where}.end")
    return FhirSlot(slot_id, status, name, practitioners, locations, start, end, version_of(doc, where))


def is_slot_bundle(body: Any) -> bool:
    """A Bundle holding Slots (and no Appointment): the Slot door takes it."""
    if not isinstance(body, dict) or body.get("resourceType") != "Bundle" or not isinstance(body.get("entry"), list):
        return False
    kinds = {(e.get("resource") or {}).get("resourceType") for e in body["entry"]
             if isinstance(e, dict) and isinstance(e.get("resource"), dict)}
    return "Slot" in kinds


def parse_slot_bundle(bundle: Any) -> list[FhirSlot]:
    doc = _obj(bundle, "Bundle")
    assert doc is not None
    if doc.get("type") not in BUNDLE_TYPES:
        raise fail("code-invalid", f"type must be one of {', '.join(BUNDLE_TYPES)}", "Bundle.type")
    schedules: dict[str, Mapping[str, Any]] = {}
    slots: list[tuple[int, Any]] = []
    for i, entry in enumerate(_list(doc.get("entry"), "Bundle.entry")):
        e = _obj(entry, f"Bundle.entry[{i}]")
        assert e is not None
        res = _obj(e.get("resource"), f"Bundle.entry[{i}].resource")
        assert res is not None
        kind = res.get("resourceType")
        if kind == "Schedule":
            for ref in (e.get("fullUrl"), f"Schedule/{res.get('id')}" if isinstance(res.get("id"), str) else None):
                if isinstance(ref, str):
                    schedules[ref] = res
        elif kind == "Slot":
            slots.append((i, res))
        elif kind == "Appointment":
            raise fail("structure", "Slots and Appointments go in separate Bundles", f"Bundle.entry[{i}]")
    if len(slots) > MAX_BUNDLE_SLOTS:
        raise fail("too-costly", f"at most {MAX_BUNDLE_SLOTS} Slots per Bundle", "Bundle.entry")
    out, issues = [], []
    for i, res in slots:
        try:
            out.append(parse_slot(res, f"Bundle.entry[{i}].resource", schedules, path_id=None))
        except FhirInvalid as exc:
            issues.extend(exc.issues)
    if issues:
        raise FhirInvalid(issues)
    return out


def slot_record(org: str, s: FhirSlot, now_ms: int) -> dict[str, Any]:
    return {"slot_id": s.slot_id, "organization_id": org, "status": s.status, "schedule": s.schedule,
            "practitioners": list(s.practitioners), "locations": list(s.locations), "start_at": s.start_at_ms,
            "end_at": s.end_at_ms, "source_version": s.version, "updated_at": now_ms}
