"""FHIR R4 shapes as EHRs send them, with PHI values the tests look for on the wire and in errors."""
from __future__ import annotations

import copy
from typing import Any

PHONE = "+525512345678"
NAME = "Guadalupe"
DOCTOR = "Dra. Ana Torres"
PLACE = "Consultorio 4, Torre Sur"


def patient(**over: Any) -> dict[str, Any]:
    p: dict[str, Any] = {
        "resourceType": "Patient", "id": "pat-77",
        "name": [{"family": "Ramirez", "given": [NAME]}],
        "telecom": [{"system": "phone", "value": "+52 55 0000 0000", "use": "home"},
                    {"system": "phone", "value": "+52 1 55 1234 5678", "use": "mobile"},
                    {"system": "email", "value": "g@example.com"}],
        "communication": [{"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "en-US"}]}},
                          {"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "es-MX"}]},
                           "preferred": True}],
    }
    p.update(over)
    return p


def appointment(status: str = "booked", start: str = "2026-09-01T10:30:00-06:00", **over: Any) -> dict[str, Any]:
    a: dict[str, Any] = {
        "resourceType": "Appointment", "id": "apt-1", "status": status, "start": start,
        "end": "2026-09-01T11:00:00-06:00", "meta": {"versionId": "1"},
        "contained": [patient(id="p1")],
        "participant": [
            {"actor": {"reference": "#p1"}, "status": "accepted"},
            {"actor": {"reference": "Practitioner/9", "display": DOCTOR}, "status": "accepted"},
            {"actor": {"reference": "Location/3", "display": PLACE}, "status": "accepted"},
            {"actor": {"reference": "HealthcareService/2", "display": "Clinica Norte"}, "status": "accepted"},
        ],
    }
    a.update(over)
    return a


def bundle(kind: str = "transaction") -> dict[str, Any]:
    appt = appointment()
    appt.pop("contained")
    appt["participant"][0] = {"actor": {"reference": "urn:uuid:4b1c0d3e-0000-4000-8000-00000000aaaa"},
                              "status": "accepted"}
    return {"resourceType": "Bundle", "type": kind, "entry": [
        {"fullUrl": "urn:uuid:4b1c0d3e-0000-4000-8000-00000000aaaa", "resource": patient(),
         "request": {"method": "PUT", "url": "Patient/pat-77"}},
        {"fullUrl": "urn:uuid:4b1c0d3e-0000-4000-8000-00000000bbbb", "resource": appt,
         "request": {"method": "PUT", "url": "Appointment/apt-1"}},
    ]}


def mutate(doc: dict[str, Any], fn: Any) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    fn(out)
    return out
