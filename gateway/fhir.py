"""The FHIR door: HL7 FHIR R4 Appointments (with their Patient) become sealed AppointmentEvents.

`PUT /fhir/Appointment/{id}` takes one Appointment whose Patient is `contained`; `POST /fhir` takes a
transaction / batch / collection Bundle of Appointments and the Patients they reference (by
`fullUrl` or `Patient/<id>`). Epic, Oracle Health and Veradigm send these shapes. Each Appointment is
published to `appointments`, keyed by the patient's pseudonym, and answered only after Kafka acked
it and its audit record. A Bundle is all or nothing for validation: one bad entry refuses it all.

Mapping: `status` booked -> BOOKED (RESCHEDULED when this process saw the same appointment with
another start: a hint only, the streams re-derive it from the start they hold), cancelled ->
CANCELLED, noshow -> NOSHOW, every other status -> OTHER. The patient's number is the phone
`telecom` with use=mobile first, then the lowest `rank`; its language the preferred
`communication` (es, en, pt; else es). The zone comes from the `timezone` extension
(http://hl7.org/fhir/StructureDefinition/timezone) on the Appointment or Patient, else the
`X-Carelay-Timezone` header, else the organization's default (CARELAY_CARE_TIMEZONE / _ORGS).
Clinic: a HealthcareService or Organization participant's display (or a non-R4 `serviceProvider`
some servers send); location and practitioner displays are sealed.

Errors are FHIR OperationOutcomes whose status comes from gateway.errors.ERROR_TABLE; an issue's
`expression` names the element, and diagnostics never quote a value.
"""
from __future__ import annotations

import asyncio
import hashlib
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson
from starlette.requests import Request
from starlette.responses import Response

from gateway.audit import ALLOWED, ERROR, REJECTED, Actor
from gateway.auth import Action
from gateway.body import parse_json, read_body
from gateway.errors import (
    BodyTooLarge,
    Forbidden,
    GatewayError,
    InvalidField,
    MalformedBody,
    NotFound,
    TooManyRefusals,
    Unauthenticated,
    Unavailable,
    spec_for,
)
from gateway.services import Services, guard, remote_addr, services
from schemas.errors import CarelayError
from schemas.numbers import NumberRefused, canonical_number

FHIR_JSON = "application/fhir+json"
ACCEPTED_TYPES = (FHIR_JSON, "application/json")
TIMEZONE_EXT = "http://hl7.org/fhir/StructureDefinition/timezone"
TIMEZONE_HEADER = "x-carelay-timezone"
ACTION = "appointment.fhir"
LABEL = "appointments"
BUNDLE_TYPES = ("transaction", "batch", "collection")
MAX_BUNDLE_APPOINTMENTS = 200
MAX_TEXT = 200
LANGUAGES = ("es", "en", "pt")
KINDS = {"booked": "BOOKED", "cancelled": "CANCELLED", "noshow": "NOSHOW"}
STATUSES = ("proposed", "pending", "booked", "arrived", "fulfilled", "cancelled", "noshow", "entered-in-error",
            "checked-in", "waitlist")
START_OPTIONAL = ("proposed", "cancelled", "waitlist")  # invariant app-3
LAST_STARTS_MAX = 100_000


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


def _fail(code: str, diagnostics: str, expression: str) -> FhirInvalid:
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
        raise _fail("structure" if value is not None else "required", "must be a JSON object", expression)
    return value


def _list(value: Any, expression: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _fail("structure", "must be a JSON array", expression)
    return value


def _str(value: Any, expression: str, *, required: bool = False, limit: int = MAX_TEXT) -> str | None:
    if value is None:
        if required:
            raise _fail("required", "is required", expression)
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise _fail("value", f"must be a non-empty string of at most {limit} characters", expression)
    return value


def _instant(value: Any, expression: str) -> int:
    text = _str(value, expression, required=True, limit=40)
    try:
        parsed = datetime.fromisoformat(str(text))
    except ValueError:
        raise _fail("value", "must be a FHIR instant (date-time with an offset)", expression) from None
    if parsed.tzinfo is None:
        raise _fail("value", "needs an offset (Z or +hh:mm)", expression)
    return int(parsed.timestamp() * 1000)


def _timezone_ext(resource: Mapping[str, Any], where: str) -> str | None:
    for i, ext in enumerate(_list(resource.get("extension"), f"{where}.extension")):
        if isinstance(ext, dict) and ext.get("url") == TIMEZONE_EXT:
            expression = f"{where}.extension[{i}].valueCode"
            name = _str(ext.get("valueCode"), expression, required=True, limit=64)
            return _check_zone(str(name), expression)
    return None


def _check_zone(name: str, expression: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise _fail("value", "not an IANA time zone", expression) from None
    return name


def _phone(patient: Mapping[str, Any], where: str) -> str:
    candidates: list[tuple[int, int, int, str]] = []
    for i, cp in enumerate(_list(patient.get("telecom"), f"{where}.telecom")):
        if not isinstance(cp, dict) or cp.get("system") not in ("phone", "sms"):
            continue
        if cp.get("use") == "old" or cp.get("period", {}).get("end"):
            continue
        value = _str(cp.get("value"), f"{where}.telecom[{i}].value", required=True, limit=40)
        rank = cp["rank"] if isinstance(cp.get("rank"), int) else 1_000
        candidates.append((0 if cp.get("use") == "mobile" else 1, rank, i, str(value)))
    if not candidates:
        raise _fail("required", "no phone number (telecom with system phone or sms)", f"{where}.telecom")
    _, _, index, raw = min(candidates)
    try:
        return canonical_number(raw)  # one spelling per phone, before it becomes a pseudonym
    except NumberRefused as exc:
        raise _fail("value", f"the phone number {exc.message}", f"{where}.telecom[{index}].value") from None


def _language(patient: Mapping[str, Any], where: str) -> str:
    found: list[tuple[int, str]] = []
    for i, comm in enumerate(_list(patient.get("communication"), f"{where}.communication")):
        if not isinstance(comm, dict) or not isinstance(comm.get("language"), dict):
            continue
        codes = [str(c["code"]) for c in _list(comm["language"].get("coding"), f"{where}.communication[{i}]")
                 if isinstance(c, dict) and isinstance(c.get("code"), str)]
        for code in codes:
            base = code.lower().replace("_", "-").split("-")[0]
            if base in LANGUAGES:
                found.append((0 if comm.get("preferred") is True else 1, base))
                break
    return min(found)[1] if found else "es"


def _name(patient: Mapping[str, Any], where: str) -> str | None:
    for i, name in enumerate(_list(patient.get("name"), f"{where}.name")):
        if not isinstance(name, dict):
            continue
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
        raise _fail("structure", "resourceType must be Appointment", f"{where}.resourceType")
    appt_id = _str(appt.get("id"), f"{where}.id", required=path_id is None, limit=64)
    if path_id is not None and appt_id is not None and appt_id != path_id:
        raise _fail("invariant", "the resource id differs from the id in the URL", f"{where}.id")
    appt_id = appt_id or path_id
    status = appt.get("status")
    if status not in STATUSES:
        raise _fail("code-invalid", f"must be one of {', '.join(STATUSES)}", f"{where}.status")
    start = None
    if appt.get("start") is not None or status not in START_OPTIONAL:
        start = _instant(appt.get("start"), f"{where}.start")

    contained: dict[str, Mapping[str, Any]] = {}
    for i, res in enumerate(_list(appt.get("contained"), f"{where}.contained")):
        if isinstance(res, dict) and isinstance(res.get("id"), str):
            contained["#" + res["id"]] = res
        elif not isinstance(res, dict):
            raise _fail("structure", "must be a resource", f"{where}.contained[{i}]")
    patient_at: tuple[Mapping[str, Any], str, str] | None = None
    clinic = location = practitioner = None
    participants = _list(appt.get("participant"), f"{where}.participant")
    if not participants:
        raise _fail("required", "at least one participant (the Patient) is required", f"{where}.participant")
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
            raise _fail("not-found", "the reference names no contained resource",
                        f"{where}.participant[{i}].actor.reference")
        kind = (target or {}).get("resourceType", kind)
        if kind == "Patient" or (isinstance(ref, str) and ref in patients):
            if patient_at is not None:
                raise _fail("business-rule", "only one Patient participant is supported",
                            f"{where}.participant[{i}].actor")
            resolved = target or (patients.get(ref) if isinstance(ref, str) else None)
            if resolved is None:
                raise _fail("not-found", "the Patient must be contained or in the same Bundle",
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
        raise _fail("required", "no Patient participant", f"{where}.participant")
    patient, pwhere, patient_id = patient_at
    provider = appt.get("serviceProvider")
    if clinic is None and isinstance(provider, dict) and isinstance(provider.get("display"), str):
        clinic = _str(provider["display"], f"{where}.serviceProvider.display")

    zone = _timezone_ext(appt, where) or _timezone_ext(patient, pwhere)
    if zone is None and header_zone:
        zone = _check_zone(header_zone, "header X-Carelay-Timezone")
    meta: dict[str, Any] = appt["meta"] if isinstance(appt.get("meta"), dict) else {}
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
        raise _fail("structure", "resourceType must be Bundle (or PUT /fhir/Appointment/{id})", "Bundle.resourceType")
    if doc.get("type") not in BUNDLE_TYPES:
        raise _fail("code-invalid", f"type must be one of {', '.join(BUNDLE_TYPES)}", "Bundle.type")
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
        raise _fail("required", "the Bundle holds no Appointment", "Bundle.entry")
    if len(appointments) > MAX_BUNDLE_APPOINTMENTS:
        raise _fail("too-costly", f"at most {MAX_BUNDLE_APPOINTMENTS} Appointments per Bundle", "Bundle.entry")
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


# ---- responses ----------------------------------------------------------------------------------

_CODES: tuple[tuple[type[BaseException], str], ...] = (
    (Unauthenticated, "login"), (Forbidden, "forbidden"), (MalformedBody, "structure"), (BodyTooLarge, "too-costly"),
    (NotFound, "not-found"), (Unavailable, "transient"), (InvalidField, "invalid"), (TooManyRefusals, "throttled"),
)


def outcome(issues: list[Issue], severity: str = "error") -> dict[str, Any]:
    return {"resourceType": "OperationOutcome", "issue": [
        {"severity": severity, "code": i.code, "diagnostics": i.diagnostics,
         **({"expression": [i.expression]} if i.expression else {})} for i in issues]}


def outcome_response(exc: BaseException) -> Response:
    """Status from the one error table; body an OperationOutcome (no value quoted)."""
    spec = spec_for(exc)
    if isinstance(exc, FhirInvalid):
        issues = exc.issues
    else:
        code = next((c for cls, c in _CODES if isinstance(exc, cls)), "exception")
        message = exc.message if isinstance(exc, GatewayError) else "internal error"
        issues = [Issue(code, message, getattr(exc, "field", None) or "")]
    headers = {}
    if isinstance(exc, Unavailable | TooManyRefusals):
        headers["Retry-After"] = str(exc.retry_after_s)
    if isinstance(exc, Unauthenticated):
        headers["WWW-Authenticate"] = 'Bearer realm="carelay"'
    return Response(orjson.dumps(outcome(issues, "fatal" if spec.status >= 500 else "error")), spec.status, headers,
                    media_type=FHIR_JSON)


# ---- records ------------------------------------------------------------------------------------

class LastStarts:
    """Appointment -> last start seen by this process (bounded), for the RESCHEDULED hint only."""

    def __init__(self, limit: int = LAST_STARTS_MAX) -> None:
        self._seen: OrderedDict[tuple[str, str], int | None] = OrderedDict()
        self._limit = limit

    def swap(self, org: str, appointment_id: str, start: int | None) -> tuple[bool, int | None]:
        key = (org, appointment_id)
        known = key in self._seen
        previous = self._seen.pop(key, None)
        self._seen[key] = start
        while len(self._seen) > self._limit:
            self._seen.popitem(last=False)
        return known, previous


SEALED = "io.carelay.Sealed"


def build_record(svc: Services, org: str, a: FhirAppointment, now_ms: int, starts: LastStarts,
                 raw: bytes) -> tuple[str, dict[str, Any]]:
    seal = svc.cipher.seal
    rid = svc.pseudonymize(org, a.phone)
    kind = a.kind
    known, previous = starts.swap(org, a.appointment_id, a.start_at_ms)
    moved = known and previous is not None and a.start_at_ms is not None and previous != a.start_at_ms
    if kind == "BOOKED" and moved:
        kind = "RESCHEDULED"
    tag = a.version or hashlib.sha256(raw).hexdigest()[:16]

    def opt(field: str, value: str | None) -> tuple[str, Any] | None:
        return None if value is None else (SEALED, seal(field, value))

    return rid, {
        "event_id": f"fhir:{org}:{a.appointment_id}:{tag}",
        "kind": kind, "appointment_id": a.appointment_id, "organization_id": org,
        "patient_ref": opt("patient_ref", a.patient_ref), "recipient": seal("recipient", a.phone),
        "recipient_id": rid, "recipient_name": opt("recipient_name", a.name), "language": a.language,
        "timezone": a.timezone, "clinic": a.clinic, "practitioner": opt("practitioner", a.practitioner),
        "location": opt("location", a.location), "start_at": a.start_at_ms,
        "previous_start_at": previous if moved else None, "source_status": a.status, "source_version": a.version,
        "occurred_at": a.last_updated_ms or now_ms, "source": "fhir", "metadata": {"fhir": "R4"},
    }


def _starts(request: Request) -> LastStarts:
    state = request.app.state
    starts = getattr(state, "fhir_last_starts", None)
    if starts is None:
        starts = state.fhir_last_starts = LastStarts()
    return starts


# ---- endpoints ----------------------------------------------------------------------------------

async def _accept(request: Request, path_id: str | None) -> Response:
    svc = services(request)
    remote = remote_addr(request)
    try:
        key = guard(request, Action.SEND)
    except CarelayError as exc:
        return outcome_response(exc)  # guard audited the refusal
    actor = Actor.of(key)
    try:
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype not in ACCEPTED_TYPES:
            raise MalformedBody(f"Content-Type must be {' or '.join(ACCEPTED_TYPES)}")
        raw = await read_body(request, svc.settings.gateway.max_body_bytes)
        body = parse_json(raw)
        zone_default = svc.settings.care.for_org(key.organization_id)[0]
        header_zone = request.headers.get(TIMEZONE_HEADER)
        if path_id is not None:
            items = [parse_appointment(body, "Appointment", {}, path_id=path_id, header_zone=header_zone,
                                       default_zone=zone_default)]
        else:
            items = parse_bundle(body, header_zone=header_zone, default_zone=zone_default)
    except CarelayError as exc:
        svc.auditor.fire(actor, ACTION, REJECTED, reason=spec_for(exc).code,
                         resource=request.scope["path"] if path_id is None else f"Appointment/{path_id}",
                         remote_addr=remote, details={"field": getattr(exc, "field", None) or ""})
        return outcome_response(exc)
    deadline = asyncio.get_running_loop().time() + svc.settings.kafka.send_timeout_s
    now_ms = int(time.time() * 1000)
    topic = svc.topics.appointments
    starts = _starts(request)
    futures, events = [], []
    for a in items:
        rid, record = build_record(svc, key.organization_id, a, now_ms, starts, raw)
        futures.append(svc.publisher.submit(topic.name, rid, topic.codec.encode(record)))
        events.append((a.appointment_id, record["event_id"], record["kind"]))
    resource = f"Appointment/{path_id}" if path_id else f"Bundle:{len(items)}"
    futures.append(svc.auditor.submit(actor, ACTION, ALLOWED, resource=resource, remote_addr=remote,
                                      details={"appointments": ",".join(e[0] for e in events)}))
    results = await svc.publisher.settle(futures, label=LABEL, deadline=deadline)
    failed = next((r for r in results if r is not None), None)
    if failed is not None:
        svc.auditor.fire(actor, ACTION, ERROR, resource=resource, reason=spec_for(failed).code, remote_addr=remote)
        return outcome_response(failed)
    if path_id is not None:
        _, event_id, kind = events[0]
        doc = outcome([Issue("informational", f"accepted as {kind} (event {event_id})", "Appointment")],
                      "information")
        return Response(orjson.dumps(doc), 200, media_type=FHIR_JSON)
    doc = {"resourceType": "Bundle", "type": "transaction-response", "entry": [
        {"response": {"status": "200 OK", "location": f"Appointment/{appt_id}",
                      "outcome": outcome([Issue("informational", f"accepted as {kind} (event {event_id})", "")],
                                         "information")}}
        for appt_id, event_id, kind in events]}
    return Response(orjson.dumps(doc), 200, media_type=FHIR_JSON)


async def put_appointment(request: Request) -> Response:
    path_id = request.path_params["appointment_id"]
    if not 1 <= len(path_id) <= 64:
        return outcome_response(_fail("value", "the id must be 1 to 64 characters", "Appointment.id"))
    return await _accept(request, path_id)


async def post_bundle(request: Request) -> Response:
    return await _accept(request, None)


ROUTES = (
    ("/fhir/Appointment/{appointment_id}", put_appointment, ["PUT"]),
    ("/fhir", post_bundle, ["POST"]),
)
