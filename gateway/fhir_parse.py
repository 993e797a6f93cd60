"""Pure parsing of HL7 FHIR R4 Appointments (with their Patient) into frozen FhirAppointments.

Mapping: `status` booked -> BOOKED, cancelled -> CANCELLED, noshow -> NOSHOW, every other status ->
OTHER (RESCHEDULED is decided later, from what the appointments topic holds: gateway.appointment_view).
The patient's number is the phone `telecom` with use=mobile first, then the lowest `rank`, in its
canonical form (schemas.numbers); its language the preferred `communication` (es, en, pt; else es).
The zone comes from the `timezone` extension (http://hl7.org/fhir/StructureDefinition/timezone) on
the Appointment or Patient, else the `X-Carelay-Timezone` header, else the organization's default.
Clinic: a HealthcareService or Organization participant's display (or a non-R4 `serviceProvider`
some servers send); location and practitioner displays are sealed later.

No I/O. Errors are FhirInvalid with Issues whose `expression` names the element; an element FHIR
defines as an object, given as anything else, is refused by name; diagnostics never quote a value.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gateway.errors import InvalidField
from schemas.numbers import NumberRefused, canonical_number

TIMEZONE_EXT = "http://hl7.org/fhir/StructureDefinition/timezone"
BUNDLE_TYPES = ("transaction", "batch", "collection")
MAX_BUNDLE_APPOINTMENTS = 200
MAX_TEXT = 200
LANGUAGES = ("es", "en", "pt")
KINDS = {"booked": "BOOKED", "cancelled": "CANCELLED", "noshow": "NOSHOW"}
STATUSES = ("proposed", "pending", "booked", "arrived", "fulfilled", "cancelled", "noshow", "entered-in-error",
            "checked-in", "waitlist")
START_OPTIONAL = ("proposed", "cancelled", "waitlist")  # invariant app-3


@dataclass(frozen=True)
class Issue:
    code: str        # FHIR issue-type: structure, required, value, code-invalid, not-found, ...
    diagnostics: str
    expression: str  # the element, e.g. Appointment.participant[0].actor


class FhirInvalid(InvalidField):
    """The resource is not an Appointment this door can take; `issues` say where."""

    def __init__(self, issues: list[Issue]) -> None:
        super().__init__(issues[0].diagnostics, field=issues[0].expression)
        self.issues = issues


def fail(code: str, diagnostics: str, expression: str) -> FhirInvalid:
    return FhirInvalid([Issue(code, diagnostics, expression)])


@dataclass(frozen=True)
class FhirAppointment:
    """One Appointment with its Patient, validated, still in clear (sealed when it becomes a record)."""

    appointment_id: str
    status: str
    kind: str
    phone: str
    patient_ref: str | None
    name: str | None
    language: str
    timezone: str
    start_at_ms: int | None
    clinic: str | None
    location: str | None
    practitioner: str | None
    version: str | None
    last_updated_ms: int | None


# ---- pure parsing -------------------------------------------------------------------------------

def _obj(value: Any, expression: str, *, required: bool = True) -> dict[str, Any] | None:
    if value is None and not required:
        return None
    if not isinstance(value, dict):
        raise fail("structure" if value is not None else "required", "must be a JSON object", expression)
    return value


def _list(value: Any, expression: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise fail("structure", "must be a JSON array", expression)
    return value


def _str(value: Any, expression: str, *, required: bool = False, limit: int = MAX_TEXT) -> str | None:
    if value is None:
        if required:
            raise fail("required", "is required", expression)
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise fail("value", f"must be a non-empty string of at most {limit} characters", expression)
    return value


def _instant(value: Any, expression: str) -> int:
    text = _str(value, expression, required=True, limit=40)
    try:
        parsed = datetime.fromisoformat(str(text))
    except ValueError:
        raise fail("value", "must be a FHIR instant (date-time with an offset)", expression) from None
    if parsed.tzinfo is None:
        raise fail("value", "needs an offset (Z or +hh:mm)", expression)
    return int(parsed.timestamp() * 1000)


def version_of(resource: Mapping[str, Any], where: str) -> str | None:
    """FHIR's Resource.meta.versionId, when the resource has one."""
    meta = _obj(resource.get("meta"), f"{where}.meta", required=False) or {}
    return _str(meta.get("versionId"), f"{where}.meta.versionId", limit=64)


def _timezone_ext(resource: Mapping[str, Any], where: str) -> str | None:
    for i, item in enumerate(_list(resource.get("extension"), f"{where}.extension")):
        ext = _obj(item, f"{where}.extension[{i}]")
        assert ext is not None
        if ext.get("url") == TIMEZONE_EXT:
            expression = f"{where}.extension[{i}].valueCode"
            name = _str(ext.get("valueCode"), expression, required=True, limit=64)
            return _check_zone(str(name), expression)
    return None


def _check_zone(name: str, expression: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder of the zone tree ("America")
        raise fail("value", "not an IANA time zone", expression) from None
    return name


def _phone(patient: Mapping[str, Any], where: str) -> str:
    candidates: list[tuple[int, int, int, str]] = []
    for i, item in enumerate(_list(patient.get("telecom"), f"{where}.telecom")):
        cp = _obj(item, f"{where}.telecom[{i}]")
        assert cp is not None
        if cp.get("system") not in ("phone", "sms"):
            continue
        period = _obj(cp.get("period"), f"{where}.telecom[{i}].period", required=False) or {}
        if cp.get("use") == "old" or period.get("end"):
            continue
        value = _str(cp.get("value"), f"{where}.telecom[{i}].value", required=True, limit=40)
        rank = cp["rank"] if isinstance(cp.get("rank"), int) else 1_000
        candidates.append((0 if cp.get("use") == "mobile" else 1, rank, i, str(value)))
    if not candidates:
        raise fail("required", "no phone number (telecom with system phone or sms)", f"{where}.telecom")
    _, _, index, raw = min(candidates)
    try:
        return canonical_number(raw)  # one spelling per phone, before it becomes a pseudonym
    except NumberRefused as exc:
        raise fail("value", f"the phone number {exc.message}", f"{where}.telecom[{index}].value") from None


def _language(patient: Mapping[str, Any], where: str) -> str:
    found: list[tuple[int, str]] = []
    for i, item in enumerate(_list(patient.get("communication"), f"{where}.communication")):
        comm = _obj(item, f"{where}.communication[{i}]")
        assert comm is not None
        language = _obj(comm.get("language"), f"{where}.communication[{i}].language", required=False)
        if language is None:
            continue
        codes = []
        for j, c in enumerate(_list(language.get("coding"), f"{where}.communication[{i}].language.coding")):
            coding = _obj(c, f"{where}.communication[{i}].language.coding[{j}]")
            if coding is not None and isinstance(coding.get("code"), str):
                codes.append(coding["code"])
        for code in codes:
            base = code.lower().replace("_", "-").split("-")[0]
            if base in LANGUAGES:
                found.append((0 if comm.get("preferred") is True else 1, base))
                break
    return min(found)[1] if found else "es"


def _name(patient: Mapping[str, Any], where: str) -> str | None:
    for i, item in enumerate(_list(patient.get("name"), f"{where}.name")):
        name = _obj(item, f"{where}.name[{i}]")
        assert name is not None
        given = name.get("given")
        if isinstance(given, list) and given and isinstance(given[0], str) and given[0].strip():
            return _str(given[0], f"{where}.name[{i}].given[0]")
        if isinstance(name.get("text"), str) and name["text"].strip():
            return _str(name["text"], f"{where}.name[{i}].text")
    return None


def parse_appointment(resource: Any, where: str, patients: Mapping[str, Mapping[str, Any]], *,
                      path_id: str | None, header_zone: str | None, default_zone: str) -> FhirAppointment:
    """Validate one Appointment. `patients` resolves references (`#p1`, `Patient/7`, `urn:uuid:...`)."""
    appt = _obj(resource, where)
    assert appt is not None
    if appt.get("resourceType") != "Appointment":
        raise fail("structure", "resourceType must be Appointment", f"{where}.resourceType")
    appt_id = _str(appt.get("id"), f"{where}.id", required=path_id is None, limit=64)
    if path_id is not None and appt_id is not None and appt_id != path_id:
        raise fail("invariant", "the resource id differs from the id in the URL", f"{where}.id")
    appt_id = appt_id or path_id
    status = appt.get("status")
    if status not in STATUSES:
        raise fail("code-invalid", f"must be one of {', '.join(STATUSES)}", f"{where}.status")
    start = None
    if appt.get("start") is not None or status not in START_OPTIONAL:
        start = _instant(appt.get("start"), f"{where}.start")

    contained: dict[str, Mapping[str, Any]] = {}
    for i, res in enumerate(_list(appt.get("contained"), f"{where}.contained")):
        if isinstance(res, dict) and isinstance(res.get("id"), str):
            contained["#" + res["id"]] = res
        elif not isinstance(res, dict):
            raise fail("structure", "must be a resource", f"{where}.contained[{i}]")
    patient_at: tuple[Mapping[str, Any], str, str] | None = None
    clinic = location = practitioner = None
    participants = _list(appt.get("participant"), f"{where}.participant")
    if not participants:
        raise fail("required", "at least one participant (the Patient) is required", f"{where}.participant")
    for i, part in enumerate(participants):
        actor = _obj(part, f"{where}.participant[{i}]")
        assert actor is not None
        ref_obj = _obj(actor.get("actor"), f"{where}.participant[{i}].actor", required=False)
        if ref_obj is None:
            continue
        ref = ref_obj.get("reference")
        display = ref_obj.get("display") if isinstance(ref_obj.get("display"), str) else None
        kind = ref_obj.get("type") or (ref.split("/")[0] if isinstance(ref, str) and "/" in ref else None)
        target = contained.get(ref) if isinstance(ref, str) else None
        if isinstance(ref, str) and ref.startswith("#") and target is None:
            raise fail("not-found", "the reference names no contained resource",
                        f"{where}.participant[{i}].actor.reference")
        kind = (target or {}).get("resourceType", kind)
        if kind == "Patient" or (isinstance(ref, str) and ref in patients):
            if patient_at is not None:
                raise fail("business-rule", "only one Patient participant is supported",
                            f"{where}.participant[{i}].actor")
            resolved = target or (patients.get(ref) if isinstance(ref, str) else None)
            if resolved is None:
                raise fail("not-found", "the Patient must be contained or in the same Bundle",
                            f"{where}.participant[{i}].actor.reference")
            pid = resolved.get("id") if isinstance(resolved.get("id"), str) else None
            pwhere = (f"{where}.contained" if target is not None else "Bundle.entry") + "(Patient)"
            patient_at = (resolved, pwhere, pid or (ref.split("/")[-1] if isinstance(ref, str) else ""))
        elif kind in ("HealthcareService", "Organization") and display:
            clinic = clinic or _str(display, f"{where}.participant[{i}].actor.display")
        elif kind == "Location" and display:
            location = _str(display, f"{where}.participant[{i}].actor.display")
        elif kind in ("Practitioner", "PractitionerRole") and display:
            practitioner = _str(display, f"{where}.participant[{i}].actor.display")
    if patient_at is None:
        raise fail("required", "no Patient participant", f"{where}.participant")
    patient, pwhere, patient_id = patient_at
    provider = _obj(appt.get("serviceProvider"), f"{where}.serviceProvider", required=False)
    if clinic is None and provider is not None and isinstance(provider.get("display"), str):
        clinic = _str(provider["display"], f"{where}.serviceProvider.display")

    zone = _timezone_ext(appt, where) or _timezone_ext(patient, pwhere)
    if zone is None and header_zone:
        zone = _check_zone(header_zone, "header X-Carelay-Timezone")
    meta = _obj(appt.get("meta"), f"{where}.meta", required=False) or {}
    updated = _instant(meta["lastUpdated"], f"{where}.meta.lastUpdated") if meta.get("lastUpdated") else None
    version = meta.get("versionId") if isinstance(meta.get("versionId"), str) else None
    return FhirAppointment(
        appointment_id=str(appt_id), status=str(status), kind=KINDS.get(str(status), "OTHER"),
        phone=_phone(patient, pwhere), patient_ref=patient_id or None, name=_name(patient, pwhere),
        language=_language(patient, pwhere), timezone=zone or default_zone, start_at_ms=start, clinic=clinic,
        location=location, practitioner=practitioner, version=version, last_updated_ms=updated,
    )


def parse_bundle(bundle: Any, *, header_zone: str | None, default_zone: str) -> list[FhirAppointment]:
    doc = _obj(bundle, "Bundle")
    assert doc is not None
    if doc.get("resourceType") != "Bundle":
        raise fail("structure", "resourceType must be Bundle (or PUT /fhir/Appointment/{id})", "Bundle.resourceType")
    if doc.get("type") not in BUNDLE_TYPES:
        raise fail("code-invalid", f"type must be one of {', '.join(BUNDLE_TYPES)}", "Bundle.type")
    patients: dict[str, Mapping[str, Any]] = {}
    appointments: list[tuple[int, Any]] = []
    for i, entry in enumerate(_list(doc.get("entry"), "Bundle.entry")):
        e = _obj(entry, f"Bundle.entry[{i}]")
        assert e is not None
        res = _obj(e.get("resource"), f"Bundle.entry[{i}].resource")
        assert res is not None
        if res.get("resourceType") == "Patient":
            for ref in (e.get("fullUrl"), f"Patient/{res.get('id')}" if isinstance(res.get("id"), str) else None):
                if isinstance(ref, str):
                    patients[ref] = res
        elif res.get("resourceType") == "Appointment":
            appointments.append((i, res))
    if not appointments:
        raise fail("required", "the Bundle holds no Appointment", "Bundle.entry")
    if len(appointments) > MAX_BUNDLE_APPOINTMENTS:
        raise fail("too-costly", f"at most {MAX_BUNDLE_APPOINTMENTS} Appointments per Bundle", "Bundle.entry")
    out, issues = [], []
    for i, res in appointments:
        try:
            out.append(parse_appointment(res, f"Bundle.entry[{i}].resource", patients, path_id=None,
                                         header_zone=header_zone, default_zone=default_zone))
        except FhirInvalid as exc:
            issues.extend(exc.issues)
    if issues:
        raise FhirInvalid(issues)
    return out
