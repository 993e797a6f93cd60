"""What the outside sees of a reminder plan: the AppointmentPlan record behind GET /v1/appointments/{id},
and whether a change left an appointment with no reminder it can still send (a staff notice).

Pure: the agents' batch view (streams.agents.base) hands in each plan before and after a batch changed it.
"""
from __future__ import annotations

import uuid
from typing import Any

from streams.care.schedule import Kind, Planned, Slot, SlotState, reminder_key

IMPOSSIBLE = "reminder_impossible"
ACTIVE = (Kind.BOOKED, Kind.RESCHEDULED)
REMINDER_NAMESPACE = uuid.UUID("0b7d3c1e-9a52-4f68-8c1d-5e2f7a9b4c60")
STATES = {SlotState.PENDING: "scheduled", SlotState.SENT: "sent", SlotState.SKIPPED: "skipped",
          SlotState.CANCELLED: "cancelled"}


def impossible(planned: Planned) -> str | None:
    """Why a booked appointment gets no reminder at all: every slot was skipped (in the past when
    planned, moved out of quiet hours into the past, too late), none sent or still scheduled. The
    slots' reasons, e.g. `24h=past,2h=past`. A cancelled slot is someone's decision (an opt-out, a
    cancellation), and a plan without slots has nothing it was meant to send: neither is flagged."""
    if planned.kind not in ACTIVE or planned.start_at_ms is None or not planned.slots:
        return None
    if any(s.state is not SlotState.SKIPPED or s.reason == "already_sent" for s in planned.slots):
        return None
    return ",".join(f"{s.name}={s.reason or 'skipped'}" for s in planned.slots)


def newly_impossible(before: Planned | None, after: Planned) -> str | None:
    """`impossible(after)`, unless `before` was already impossible for the same start (told once)."""
    why = impossible(after)
    if why is None:
        return None
    if before is not None and before.start_at_ms == after.start_at_ms and impossible(before) is not None:
        return None
    return why


def notice_id(planned: Planned) -> str:
    """The staff notice's event id: one per appointment start, so a replayed decision repeats it."""
    return f"appt:{planned.appointment_id}:{planned.start_at_ms}:{IMPOSSIBLE}"


def message_id(organization_id: str, idempotency_key: str) -> str:
    """The message id of a send the plan asks for, derived from its idempotency key."""
    return str(uuid.uuid5(REMINDER_NAMESPACE, f"{organization_id}|{idempotency_key}"))


def sent_id(planned: Planned, slot: Slot) -> str | None:
    if slot.state is not SlotState.SENT:
        return None
    return message_id(planned.organization_id, reminder_key(planned, slot.name))


def record(planned: Planned, now_ms: int) -> dict[str, Any]:
    """The AppointmentPlan record (schemas/avro/io.carelay.AppointmentPlan.avsc)."""
    return {
        "organization_id": planned.organization_id, "appointment_id": planned.appointment_id,
        "recipient_id": planned.recipient_id, "kind": planned.kind.value, "start_at": planned.start_at_ms,
        "timezone": planned.timezone, "urgent": planned.urgent,
        "reminders": [{"name": s.name, "offset_s": s.offset_s, "due_at": s.due_at_ms, "state": STATES[s.state],
                       "reason": s.reason, "message_id": sent_id(planned, s)}
                      for s in planned.slots],
        "impossible": impossible(planned), "updated_at": now_ms,
    }


def key(planned: Planned) -> bytes:
    return f"{planned.organization_id}|{planned.appointment_id}".encode()
