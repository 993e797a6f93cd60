"""What the patient page shows, pure: the upcoming appointments with the reminder their buttons
answer, and the clinic's messages in order; and the InboundMessage an answer or a reply becomes."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from gateway.console.appointments import Answer, Plan

ACTIONS = ("confirm", "cancel", "reschedule")
SHOWN_KINDS = frozenset({"BOOKED", "RESCHEDULED", "OTHER"})  # cancelled and no-show appointments are not next
MAX_TEXT = 1000


@dataclass(frozen=True)
class Appointment:
    appointment_id: str
    start_at_ms: int
    when: str  # local date and time, as the clinic's zone reads it
    kind: str
    question: str | None  # the newest sent reminder's message id: what a button answers
    answer: str | None    # confirmed, cancel_requested, reschedule_requested
    timezone: str


def local(ms: int, timezone: str) -> str:
    try:
        zone = ZoneInfo(timezone)
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    return datetime.fromtimestamp(ms / 1000, zone).strftime("%Y-%m-%d %H:%M")


def upcoming(plans: Sequence[Plan], answers: Mapping[str, Answer], recipient_id: str, now_ms: int,
             ) -> list[Appointment]:
    """The patient's appointments from now on, soonest first."""
    shown = []
    for p in plans:
        if p.recipient_id != recipient_id or p.start_at is None or p.start_at < now_ms or p.kind not in SHOWN_KINDS:
            continue
        sent = [r for r in p.reminders if r.state == "sent" and r.message_id]
        question = max(sent, key=lambda r: r.due_at).message_id if sent else None
        answer = answers.get(p.appointment_id)
        shown.append(Appointment(p.appointment_id, p.start_at, local(p.start_at, p.timezone), p.kind, question,
                                 answer.answer if answer is not None else None, p.timezone))
    return sorted(shown, key=lambda a: (a.start_at_ms, a.appointment_id))


def answerable(appointments: Sequence[Appointment], message_id: str) -> bool:
    """A button may name only a reminder the page showed this patient (never another's message)."""
    return any(a.question == message_id for a in appointments)


def reply_error(text: str) -> str | None:
    if not text.strip():
        return "error_empty"
    if len(text) > MAX_TEXT:
        return "error_long"
    return None


def inbound_record(*, event_id: str, provider: str, organization_id: str, recipient_id: str, sender: Any,
                   text: Any, payload: str | None, now_ms: int) -> dict[str, Any]:
    """The InboundMessage the page writes: the in-app channel, as a WhatsApp button (payload
    `confirm:<message id>`) or text message arrives, so the inbound agent applies the same keyword,
    consent, loop-guard and AI handling. `provider` is the organization's in-app channel instance's."""
    return {"event_id": event_id, "provider": provider, "channel": "INAPP", "provider_message_id": event_id,
            "organization_id": organization_id, "recipient_id": recipient_id, "sender": sender,
            "to_address": "patient-page", "kind": "BUTTON" if payload else "TEXT", "text": text,
            "payload": payload, "context_provider_message_id": None, "received_at": now_ms}
