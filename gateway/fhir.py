"""The FHIR door: HL7 FHIR R4 Appointments (with their Patient) become sealed AppointmentEvents.

`PUT /fhir/Appointment/{id}` takes one Appointment whose Patient is `contained`; `POST /fhir` takes a
transaction / batch / collection Bundle of Appointments and the Patients they reference (by
`fullUrl` or `Patient/<id>`). Epic, Oracle Health and Veradigm send these shapes. Each Appointment is
published to `appointments`, keyed by the patient's pseudonym, and answered only after Kafka acked
it and its audit record. A Bundle is all or nothing for validation: one bad entry refuses it all.
Parsing is gateway.fhir_parse (pure); new-or-update and RESCHEDULED come from what the appointments
topic holds (gateway.appointment_view): `201 Created` for an appointment the topic does not hold, else
`200 OK` (per entry in a Bundle's response). Every outcome, a refused key included, is audited as
`appointment.fhir`.

Errors are FHIR OperationOutcomes whose status comes from gateway.errors.ERROR_TABLE; an issue's
`expression` names the element, and diagnostics never quote a value.
"""
from __future__ import annotations

import asyncio
import hashlib
import time
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from access.keys import Action
from gateway.appointment_view import Decision, decide
from gateway.audit import ALLOWED, ERROR, REJECTED, Actor
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
from gateway.fhir_parse import FhirAppointment, FhirInvalid, Issue, fail, parse_appointment, parse_bundle
from gateway.fhir_slots import FhirSlot, is_slot_bundle, parse_slot, parse_slot_bundle, slot_record
from gateway.services import Services, guard, remote_addr, services
from schemas.errors import CarelayError
from schemas.phi import Binding, Sealed

__all__ = ["ROUTES", "FhirInvalid", "outcome_response", "parse_appointment", "parse_bundle"]

FHIR_JSON = "application/fhir+json"
ACCEPTED_TYPES = (FHIR_JSON, "application/json")
TIMEZONE_HEADER = "x-carelay-timezone"
ACTION = "appointment.fhir"
SLOT_ACTION = "slot.fhir"
LABEL = "appointments"


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

SEALED = "io.carelay.Sealed"


def build_record(svc: Services, org: str, a: FhirAppointment, decision: Decision, now_ms: int,
                 raw: bytes) -> tuple[str, dict[str, Any]]:
    bound = Binding(org, a.appointment_id)  # schemas.phi.RECORD_IDS: an AppointmentEvent's appointment id

    def seal(field: str, value: str) -> Sealed:
        return svc.cipher.seal(field, value, bound)

    rid = svc.pseudonymize(org, a.phone)
    tag = a.version or hashlib.sha256(raw).hexdigest()[:16]

    def opt(field: str, value: str | None) -> tuple[str, Any] | None:
        return None if value is None else (SEALED, seal(field, value))

    return rid, {
        "event_id": f"fhir:{org}:{a.appointment_id}:{tag}",
        "kind": decision.kind, "appointment_id": a.appointment_id, "organization_id": org,
        "patient_ref": opt("patient_ref", a.patient_ref), "recipient": seal("recipient", a.phone),
        "recipient_id": rid, "recipient_name": opt("recipient_name", a.name), "language": a.language,
        "timezone": a.timezone, "clinic": a.clinic, "practitioner": opt("practitioner", a.practitioner),
        "location": opt("location", a.location), "start_at": a.start_at_ms,
        "previous_start_at": decision.previous_start_at_ms, "source_status": a.status,
        "source_version": a.version, "occurred_at": a.last_updated_ms or now_ms, "source": "fhir",
        "metadata": {"fhir": "R4"},
    }


def http_status(created: bool) -> tuple[int, str]:
    return (201, "201 Created") if created else (200, "200 OK")


# ---- endpoints ----------------------------------------------------------------------------------

async def _accept(request: Request, path_id: str | None, *, slot: bool = False) -> Response:
    svc = services(request)
    remote = remote_addr(request)
    try:
        key = guard(request, Action.SEND, ACTION)
    except CarelayError as exc:
        return outcome_response(exc)  # guard audited the refusal, as appointment.fhir
    actor = Actor.of(key)
    try:
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype not in ACCEPTED_TYPES:
            raise MalformedBody(f"Content-Type must be {' or '.join(ACCEPTED_TYPES)}")
        raw = await read_body(request, svc.settings.gateway.max_body_bytes)
        body = parse_json(raw)
        zone_default = svc.settings.care.for_org(key.organization_id)[0]
        header_zone = request.headers.get(TIMEZONE_HEADER)
        slots: list[FhirSlot] | None = None
        if slot:  # PUT /fhir/Slot/{id}, or a Bundle of Slots: gateway.fhir_slots
            slots = [parse_slot(body, "Slot", {}, path_id=path_id)]
        elif path_id is None and is_slot_bundle(body):
            slots = parse_slot_bundle(body)
        elif path_id is not None:
            items = [parse_appointment(body, "Appointment", {}, path_id=path_id, header_zone=header_zone,
                                       default_zone=zone_default)]
        else:
            items = parse_bundle(body, header_zone=header_zone, default_zone=zone_default)
    except CarelayError as exc:
        svc.auditor.fire(actor, ACTION, REJECTED, reason=spec_for(exc).code,
                         resource=request.scope["path"] if path_id is None else
                         f"{'Slot' if slot else 'Appointment'}/{path_id}",
                         remote_addr=remote, details={"field": getattr(exc, "field", None) or ""})
        return outcome_response(exc)
    if slots is not None:
        return await _publish_slots(svc, request, actor, key.organization_id, slots, single=slot)
    deadline = asyncio.get_running_loop().time() + svc.settings.kafka.send_timeout_s
    view = svc.appointments
    while not view.loaded:  # new or update is only known once the view holds the topic
        if asyncio.get_running_loop().time() >= deadline:
            loading = Unavailable("the appointments view is still loading", retry_after_s=1)
            svc.auditor.fire(actor, ACTION, ERROR, resource=_resource(path_id, len(items)),
                             reason=spec_for(loading).code, remote_addr=remote)
            return outcome_response(loading)
        await asyncio.sleep(0.05)
    org = key.organization_id
    now_ms = int(time.time() * 1000)
    topic = svc.topics.appointments
    futures, events, notes = [], [], []
    for a in items:
        before = view.swap(org, a.appointment_id, a.start_at_ms)
        notes.append((a.appointment_id, before))
        decision = decide(before, a.kind, a.start_at_ms)
        rid, record = build_record(svc, org, a, decision, now_ms, raw)
        futures.append(svc.publisher.submit(topic.name, rid, topic.codec.encode(record)))
        events.append((a.appointment_id, record["event_id"], decision))
    resource = _resource(path_id, len(items))
    futures.append(svc.auditor.submit(actor, ACTION, ALLOWED, resource=resource, remote_addr=remote,
                                      details={"appointments": ",".join(e[0] for e in events),
                                               "created": str(sum(e[2].created for e in events))}))
    results = await svc.publisher.settle(futures, label=LABEL, deadline=deadline)
    failed = next((r for r in results if r is not None), None)
    if failed is not None:
        for appointment_id, before in reversed(notes):
            view.restore(org, appointment_id, before)
        svc.auditor.fire(actor, ACTION, ERROR, resource=resource, reason=spec_for(failed).code, remote_addr=remote)
        return outcome_response(failed)
    if path_id is not None:
        _, event_id, decision = events[0]
        status, _ = http_status(decision.created)
        doc = outcome([Issue("informational", f"accepted as {decision.kind} (event {event_id})", "Appointment")],
                      "information")
        headers = {"Location": f"/fhir/Appointment/{path_id}"} if decision.created else None
        return Response(orjson.dumps(doc), status, headers, media_type=FHIR_JSON)
    doc = {"resourceType": "Bundle", "type": "transaction-response", "entry": [
        {"response": {"status": http_status(decision.created)[1], "location": f"Appointment/{appt_id}",
                      "outcome": outcome([Issue("informational", f"accepted as {decision.kind} (event {event_id})",
                                                "")], "information")}}
        for appt_id, event_id, decision in events]}
    return Response(orjson.dumps(doc), 200, media_type=FHIR_JSON)


async def _publish_slots(svc: Services, request: Request, actor: Actor, org: str, slots: list[FhirSlot],
                         *, single: bool) -> Response:
    """Each Slot on the `slots` topic (keyed organization|slot id) and the audit record (`slot.fhir`);
    answered once Kafka acked them all."""
    topic, now_ms, remote = svc.topics.slots, int(time.time() * 1000), remote_addr(request)
    futures = [svc.publisher.submit(topic.name, f"{org}|{s.slot_id}", topic.codec.encode(slot_record(org, s, now_ms)))
               for s in slots]
    resource = f"Slot/{slots[0].slot_id}" if single else f"Bundle:{len(slots)}"
    futures.append(svc.auditor.submit(actor, SLOT_ACTION, ALLOWED, resource=resource, remote_addr=remote,
                                      details={"slots": ",".join(s.slot_id for s in slots)}))
    failed = next((r for r in await svc.publisher.settle(futures, label="slots") if r is not None), None)
    if failed is not None:
        svc.auditor.fire(actor, SLOT_ACTION, ERROR, resource=resource, reason=spec_for(failed).code, remote_addr=remote)
        return outcome_response(failed)
    if single:
        doc = outcome([Issue("informational", f"accepted as {slots[0].status}", "Slot")], "information")
        return Response(orjson.dumps(doc), 200, media_type=FHIR_JSON)
    doc = {"resourceType": "Bundle", "type": "transaction-response", "entry": [
        {"response": {"status": "200 OK", "location": f"Slot/{s.slot_id}"}} for s in slots]}
    return Response(orjson.dumps(doc), 200, media_type=FHIR_JSON)


def _resource(path_id: str | None, count: int) -> str:
    return f"Appointment/{path_id}" if path_id else f"Bundle:{count}"


async def put_appointment(request: Request) -> Response:
    path_id = request.path_params["appointment_id"]
    if not 1 <= len(path_id) <= 64:
        return outcome_response(fail("value", "the id must be 1 to 64 characters", "Appointment.id"))
    return await _accept(request, path_id)


async def put_slot(request: Request) -> Response:
    path_id = request.path_params["slot_id"]
    if not 1 <= len(path_id) <= 64:
        return outcome_response(fail("value", "the id must be 1 to 64 characters", "Slot.id"))
    return await _accept(request, path_id, slot=True)


async def post_bundle(request: Request) -> Response:
    return await _accept(request, None)


ROUTES = (
    ("/fhir/Appointment/{appointment_id}", put_appointment, ["PUT"]),
    ("/fhir/Slot/{slot_id}", put_slot, ["PUT"]),
    ("/fhir", post_bundle, ["POST"]),
)
