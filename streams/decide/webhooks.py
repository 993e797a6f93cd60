"""Outbound webhooks to the clinic: which endpoints get an event, what its body says, when to retry, and
each endpoint's breaker. Pure: the delivery process (streams.webhooks) only reads, calls these and writes.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

STATUS_CHANGED = "message.status_changed"
CONFIRMED = "appointment.confirmed"
CANCEL_REQUESTED = "appointment.cancel_requested"
RESCHEDULE_REQUESTED = "appointment.reschedule_requested"
INBOUND = "inbound.received"
ATTENTION = "staff.attention_needed"
EVENT_TYPES = (STATUS_CHANGED, CONFIRMED, CANCEL_REQUESTED, RESCHEDULE_REQUESTED, INBOUND, ATTENTION)
CARE_TYPES = frozenset({CONFIRMED, CANCEL_REQUESTED, RESCHEDULE_REQUESTED, ATTENTION})

FINAL_ONLY = "final"
EVERY_CHANGE = "all"
STATUS_CHANGES = (FINAL_ONLY, EVERY_CHANGE)

# The wait after the n-th failed attempt of an endpoint: exactly the delay topics' steps, so every record
# an endpoint holds at one level waits on one delay topic, in order (see `Gate`); then hourly.
BACKOFF_MS = (1_000, 10_000, 60_000, 600_000, 3_600_000)
GIVE_UP_AFTER_MS = 24 * 3600 * 1000


@dataclass(frozen=True)
class Endpoint:
    endpoint_id: str
    organization_id: str
    url: str
    event_types: frozenset[str]
    status_changes: str = FINAL_ONLY
    include_phi: bool = False
    created_at_ms: int = 0


@dataclass(frozen=True)
class Event:
    """One event before it is addressed to an endpoint. `phi` holds the patient's words, added to the
    body only for an endpoint flagged for them; `data` never carries PHI."""

    event_type: str
    organization_id: str
    subject: str            # ordering is per subject: a message id, an appointment id, an event id
    key: str                # what makes the event itself unique: the same on a replay
    sequence: int
    occurred_at_ms: int
    final: bool = True
    data: Mapping[str, Any] = field(default_factory=dict)
    phi: Mapping[str, Any] = field(default_factory=dict)


def subscribers(endpoints: Iterable[Endpoint], event: Event) -> list[Endpoint]:
    """The endpoints that get `event`: its organization's, subscribed to its type, created before it
    happened (a new endpoint is not sent the past), and for a status change, final-only endpoints only
    the final status."""
    return [e for e in endpoints
            if e.organization_id == event.organization_id and event.event_type in e.event_types
            and event.occurred_at_ms >= e.created_at_ms
            and (event.event_type != STATUS_CHANGED or event.final or e.status_changes == EVERY_CHANGE)]


def delivery_id(endpoint: Endpoint, event: Event) -> str:
    """The webhook-id: the same for every attempt and every replay of this event to this endpoint."""
    key = event.key if event.event_type != STATUS_CHANGED or endpoint.status_changes == EVERY_CHANGE \
        else f"{event.subject}:final"
    return "evt_" + hashlib.sha256(f"{endpoint.endpoint_id}|{event.event_type}|{key}".encode()).hexdigest()[:32]


def body(endpoint: Endpoint, event: Event) -> dict[str, Any]:
    """The JSON body, Standard Webhooks' recommended shape: type, timestamp, data."""
    data = dict(event.data)
    if endpoint.include_phi:
        data.update(event.phi)
    return {"type": event.event_type, "timestamp": event.occurred_at_ms, "data": data}


# -- events from the pipeline's records ----------------------------------------------------------------

def from_state(rec: Mapping[str, Any], at_ms: int) -> Event | None:
    """A MessageState record: a status change, unless its last history entry changed nothing (late)."""
    history = rec.get("history") or []
    if history and history[-1].get("late"):
        return None
    mid = rec["message_id"]
    data = {"message_id": mid, "status": rec["status"], "final": bool(rec.get("is_final")),
            "channel": rec.get("channel"), "provider": rec.get("provider"), "reason": rec.get("reason"),
            "error_code": rec.get("error_code"), "sequence": len(history),
            "history": [{"status": h["status"], "at": h["at"], "channel": h.get("channel")}
                        for h in history if not h.get("late")]}
    return Event(STATUS_CHANGED, rec["organization_id"], mid, f"{mid}:{len(history)}", len(history), at_ms,
                 final=bool(rec.get("is_final")), data=data)


def from_care(rec: Mapping[str, Any], text: str | None) -> Event | None:
    """A CareEvent (appointment.events, staff.notifications) of a type endpoints subscribe to."""
    kind = rec["type"]
    if kind not in CARE_TYPES:
        return None
    data = {"event_id": rec["event_id"], "recipient_id": rec["recipient_id"],
            "appointment_id": rec.get("appointment_id"), "message_id": rec.get("message_id"),
            "reason": rec.get("reason"), "channel": rec.get("channel"), "details": dict(rec.get("details") or {})}
    subject = rec.get("appointment_id") or rec["event_id"]
    return Event(kind, rec["organization_id"], subject, rec["event_id"], 0, rec["occurred_at"], data=data,
                 phi={"text": text} if text is not None else {})


def from_inbound(rec: Mapping[str, Any], text: str | None) -> Event | None:
    """An InboundMessage whose organization is known."""
    org = rec.get("organization_id")
    if not org:
        return None
    data = {"event_id": rec["event_id"], "recipient_id": rec["recipient_id"], "channel": rec.get("channel"),
            "kind": rec.get("kind"), "payload": rec.get("payload"),
            "in_reply_to": rec.get("context_provider_message_id")}
    return Event(INBOUND, org, rec["event_id"], rec["event_id"], 0, rec["received_at"], data=data,
                 phi={"text": text} if text is not None else {})


# -- retries and the per-endpoint breaker ----------------------------------------------------------------

class Step(StrEnum):
    SEND = "send"
    HOLD = "hold"      # park on the endpoint's delay step, behind what it already holds


def backoff_level(failures: int) -> int:
    """The delay-topic step index after `failures` consecutive failures (1-based)."""
    return min(max(failures, 1), len(BACKOFF_MS)) - 1


def gives_up(first_failed_ms: int | None, now_ms: int, wait_ms: int) -> bool:
    """Dead-letter rather than retry: the next try would fall more than 24 h after the first failure."""
    return first_failed_ms is not None and now_ms + wait_ms - first_failed_ms > GIVE_UP_AFTER_MS


@dataclass(frozen=True)
class Gate:
    """One endpoint's breaker and backlog. Open (`open_until_ms` ahead) after a failure: nothing is
    tried until the record that failed comes back, and records arriving meanwhile wait behind it on the
    same delay topic (`level`: one step, so the topic's order is the endpoint's order). `parked` counts
    the records waiting there: a new record waits behind them even once the breaker has closed again."""

    failures: int = 0
    open_until_ms: int = 0
    parked: int = 0
    level: int = 0  # the delay step index the endpoint's held records wait on


def admit(gate: Gate, returned: bool, now_ms: int) -> tuple[Step, Gate]:
    """What to do with the endpoint's next record; `returned`: it comes back from a delay topic."""
    if returned:
        gate = replace(gate, parked=max(0, gate.parked - 1))
    if now_ms < gate.open_until_ms or (gate.parked > 0 and not returned):
        return Step.HOLD, replace(gate, parked=gate.parked + 1)
    return Step.SEND, gate


def succeeded(gate: Gate) -> Gate:
    """The breaker closes; records still held come back on their own and are sent in their turn."""
    return replace(gate, failures=0, open_until_ms=0)


def failed(gate: Gate, now_ms: int) -> Gate:
    """The breaker opens for the next backoff step; the failed record itself is held."""
    failures = gate.failures + 1
    level = backoff_level(failures)
    return Gate(failures, now_ms + BACKOFF_MS[level], gate.parked + 1, level)


def hold_due_ms(gate: Gate, now_ms: int) -> int:
    """When a held record is to come back: when the breaker half-opens, or at once behind a backlog
    (its delay topic still hands it over only after the records already waiting there)."""
    return max(gate.open_until_ms, now_ms)


def outcome_of_status(status: int) -> bool:
    """A 2xx is delivered; anything else (3xx included: redirects are not followed) is a failure."""
    return 200 <= status < 300
