"""Where the state records hold sealed values, with the binding each was sealed to, for key rotation.

A state record keeps a few values sealed (the patient's number and name for an appointment's reminders,
the number an AI answer goes to, a reminder's parameters); each was sealed for a record other than the
state record itself, and the agents open it with that binding. `map_sealed` visits every one of them
with its field name and binding, and rebuilds the record with what the visitor returns: the key
rotation job (stack/keys.py) counts them by key id and re-seals those of a retired key with the same
binding, so the agents open them exactly as before.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from schemas.phi import Binding
from streams.care.schedule import Planned
from streams.decide.records import Message, Patient, SealedState

# field name, sealed value, binding -> the value to keep (the same one, or it re-sealed)
Visit = Callable[[str, SealedState, Binding], SealedState]

# the Faust tables of streams/app.py (`add_table(app, name, record, ...)`) and their records
STATE_TABLES: dict[str, type] = {"patients": Patient, "messages": Message}


def _visit(visit: Visit, field: str, value: SealedState, binding: Binding) -> SealedState:
    return visit(field, value, binding) if value and value[0] else value  # ("", "", ""): nothing sealed


def _visit_optional(visit: Visit, field: str, value: SealedState | None, binding: Binding) -> SealedState | None:
    return None if value is None else _visit(visit, field, value, binding)


def _appointment(planned: Planned) -> Binding:
    return Binding(planned.organization_id, planned.appointment_id)


def map_patient(patient: Patient, visit: Visit) -> Patient:
    org = patient.organization_id
    # an appointment's number and name: sealed for the AppointmentEvent (streams.agents.appointments)
    appointments = tuple(
        replace(r, recipient=_visit(visit, "recipient", r.recipient, _appointment(r.planned)),
                name=_visit_optional(visit, "recipient_name", r.name, _appointment(r.planned)))
        for r in patient.appointments)
    # where an AI answer goes: sealed for the inbound message it answers (streams.agents.ai)
    waiting = tuple(
        replace(w, recipient=_visit_optional(visit, "recipient", w.recipient, Binding(org, w.inbound_event_id)))
        for w in patient.ai.waiting)
    if appointments == patient.appointments and waiting == patient.ai.waiting:
        return patient
    return replace(patient, appointments=appointments, ai=replace(patient.ai, waiting=waiting))


def map_message(message: Message, visit: Visit) -> Message:
    # a reminder's parameters: sealed for its SendRequest (streams.convert, streams.agents.inbound)
    if message.params is None:
        return message
    params = visit("params", message.params, Binding(message.organization_id, message.message_id))
    return message if params == message.params else replace(message, params=params)


def map_sealed(record: Any, visit: Visit) -> Any:
    """`record` (a Patient or a Message) with each sealed value replaced by `visit(field, value, binding)`."""
    if isinstance(record, Patient):
        return map_patient(record, visit)
    if isinstance(record, Message):
        return map_message(record, visit)
    raise TypeError(f"no sealed-value map for {type(record).__name__}")


def key_id(value: SealedState) -> str:
    return value[0]
