"""The two state records the streams keep, one per patient and one per message, both frozen.

Both live in tables keyed by the recipient pseudonym (`rid`, `rid|message_id`), so every record of
one patient sits on the patient's partition and one worker owns it.
"""
from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from streams.care.ai_bridge import Bridge
from streams.care.loopguard import LoopState
from streams.care.schedule import Planned
from streams.decide import status as st
from streams.decide.consent import Consent
from streams.decide.dedup import IdempotencyEntry, SeenId
from streams.decide.evolve import evolve
from streams.decide.ratelimit import Bucket

QUESTION_TTL_MS = 72 * 3600 * 1000  # reminders go out 24-48 h ahead; an answer after that is stale


@dataclass(frozen=True)
class Pending:
    message_id: str
    urgent: bool


@dataclass(frozen=True)
class Held:
    """One entry of the patient's queue: a message waiting its turn (`Patient.held`)."""

    message_id: str
    reason: str   # rate_limited, quiet_hours: why the head waits (a later entry waits behind it)
    due_ms: int   # when it is looked at again


@dataclass(frozen=True)
class Question:
    """An open confirm/cancel question: the reminder the patient may be answering."""

    message_id: str
    asked_at_ms: int
    appointment_id: str | None = None
    clarified: bool = False  # one clarification was sent for an unclear reply; the next goes to staff

    def open_at(self, now_ms: int) -> bool:
        return now_ms - self.asked_at_ms < QUESTION_TTL_MS


# io.carelay.Sealed as state: (kid, base64 nonce, base64 ciphertext, format version); records written
# before the version was kept have three items: v1
SealedState = tuple[str, ...]


def sealed_to_state(sealed: Mapping[str, Any] | None) -> SealedState | None:
    if sealed is None:
        return None
    return (sealed["kid"], base64.b64encode(sealed["nonce"]).decode(), base64.b64encode(sealed["ct"]).decode(),
            str(sealed.get("v") or 1))


def sealed_from_state(state: SealedState | None) -> dict[str, Any] | None:
    if state is None:
        return None
    kid, nonce, ct = state[:3]
    return {"kid": kid, "nonce": base64.b64decode(nonce), "ct": base64.b64decode(ct),
            "v": int(state[3]) if len(state) > 3 else 1}


@dataclass(frozen=True)
class Reminders:
    """One appointment's reminder plan (streams.care.schedule) and what its SendRequests need that the
    plan must not hold in clear: the patient's number and name, sealed, as the AppointmentEvent carried them."""

    planned: Planned
    recipient: SealedState
    name: SealedState | None = None


@dataclass(frozen=True)
class Patient:
    organization_id: str = ""
    consent: Consent = field(default_factory=Consent)
    idempotency: tuple[IdempotencyEntry, ...] = ()
    caps: tuple[tuple[str, Bucket], ...] = ()        # per-recipient buckets: hour, day, urgent
    windows: tuple[tuple[str, int], ...] = ()        # (WhatsApp instance id, last inbound ms)
    loop: LoopState = field(default_factory=LoopState)
    question: Question | None = None
    pending: tuple[Pending, ...] = ()                # accepted, not yet with a provider
    inbound_seen: tuple[str, ...] = ()              # the previous release's last 32 ids: read once into inbound_ids
    inbound_ids: tuple[SeenId, ...] = ()             # inbound provider message ids of the dedup window
    appointments: tuple[Reminders, ...] = ()         # reminder plans, one per appointment
    ai: Bridge = field(default_factory=Bridge)       # requests awaiting the AI agent (streams.care.ai_bridge)
    held: tuple[Held, ...] = ()                      # FIFO of non-urgent messages waiting, in acceptance order
    timezone: str | None = None                      # the zone the last send named (quiet hours)

    def bucket(self, name: str) -> Bucket | None:
        return next((b for n, b in self.caps if n == name), None)

    def with_buckets(self, updated: dict[str, Bucket]) -> Patient:
        kept = tuple((n, b) for n, b in self.caps if n not in updated)
        return replace(self, caps=(*kept, *sorted(updated.items())))

    def last_inbound(self) -> dict[str, int]:
        return dict(self.windows)

    def with_window(self, instance_id: str, at_ms: int) -> Patient:
        current = self.last_inbound().get(instance_id, 0)
        if at_ms <= current:
            return self
        kept = tuple((i, t) for i, t in self.windows if i != instance_id)
        return replace(self, windows=(*kept, (instance_id, at_ms)))

    def open_question(self, now_ms: int) -> Question | None:
        return self.question if self.question is not None and self.question.open_at(now_ms) else None

    def reminders(self, appointment_id: str) -> Reminders | None:
        return next((r for r in self.appointments if r.planned.appointment_id == appointment_id), None)

    def with_reminders(self, updated: Reminders) -> Patient:
        aid = updated.planned.appointment_id
        kept = tuple(r for r in self.appointments if r.planned.appointment_id != aid)
        return replace(self, appointments=(*kept, updated))

    def add_pending(self, message_id: str, urgent: bool) -> Patient:
        if any(p.message_id == message_id for p in self.pending):
            return self
        return replace(self, pending=(*self.pending, Pending(message_id, urgent)))

    def drop_pending(self, *message_ids: str) -> Patient:
        """The messages ended or went to a provider: out of `pending` and out of the queue, wherever they are."""
        gone = set(message_ids)
        if not any(p.message_id in gone for p in self.pending) and not any(h.message_id in gone for h in self.held):
            return self
        return replace(self, pending=tuple(p for p in self.pending if p.message_id not in gone),
                       held=tuple(h for h in self.held if h.message_id not in gone))

    def ahead_of(self, message_id: str) -> tuple[Held, ...]:
        """The queue entries before `message_id` (all of them when it is not queued)."""
        for i, h in enumerate(self.held):
            if h.message_id == message_id:
                return self.held[:i]
        return self.held

    def hold(self, message_id: str, reason: str, due_ms: int) -> Patient:
        """Queue the message (at the end), or update its entry where it stands."""
        entry = Held(message_id, reason, due_ms)
        if any(h.message_id == message_id for h in self.held):
            return replace(self, held=tuple(entry if h.message_id == message_id else h for h in self.held))
        return replace(self, held=(*self.held, entry))


class Ledger(StrEnum):
    """The dispatch ledger state of one hop's attempt."""

    PLANNED = "planned"      # routed, no provider call yet
    IN_FLIGHT = "in_flight"  # recorded durably before the call; no provider id yet
    ACCEPTED = "accepted"    # the provider took it (provider id known)
    WAITING = "waiting"      # a retryable failure: the command is parked for the next try
    FAILED = "failed"        # permanently failed on this hop


@dataclass(frozen=True)
class Hop:
    hop: int
    attempt_id: str
    channel: str
    instance_id: str
    provider: str
    reason: str
    routed_at_ms: int
    deadline_ms: int
    use_template: bool
    ledger: Ledger = Ledger.PLANNED
    status: str = "routed"                 # this attempt's status (state machine)
    provider_message_id: str | None = None
    tries: int = 0                         # provider calls made
    in_flight_since_ms: int | None = None
    doubt_since_ms: int | None = None      # when an IN_FLIGHT attempt was first found in doubt
    error_code: str | None = None
    voice_at_ms: int | None = None         # urgent, delivered: call if still unread then (decide.urgent)


@dataclass(frozen=True)
class Message:
    message_id: str
    organization_id: str
    recipient_id: str
    priority: str
    channels: tuple[str, ...]
    template: str | None
    language: str
    has_text: bool
    asks: str | None
    appointment_id: str | None
    automated: bool
    accepted_at_ms: int
    expires_at_ms: int | None
    status: str = "accepted"
    is_final: bool = False
    final_at_ms: int | None = None
    updated_at_ms: int = 0
    hops: tuple[Hop, ...] = ()
    history: tuple[st.Entry, ...] = ()
    seen_events: tuple[str, ...] = ()
    command: str | None = None  # the current hop's DispatchCommand, base64 wire bytes (re-emission)
    params: SealedState | None = None  # a reminder that asks: its parameters, sealed (the acknowledgement's date)
    consent_notice: bool = False  # an opt-out / opt-in confirmation (streams.decide.consent.reach_for)

    @property
    def urgent(self) -> bool:
        return self.priority == "URGENT"

    @property
    def current(self) -> Hop | None:
        return self.hops[-1] if self.hops else None

    @property
    def reached(self) -> bool:
        return self.status in st.REACHED

    def hop(self, number: int) -> Hop | None:
        return next((h for h in self.hops if h.hop == number), None)

    def hop_for(self, attempt_id: str | None, provider_message_id: str | None) -> Hop | None:
        for h in self.hops:
            if attempt_id and h.attempt_id == attempt_id:
                return h
        for h in self.hops:
            if provider_message_id and h.provider_message_id == provider_message_id:
                return h
        return None

    def with_hop(self, hop: Hop) -> Message:
        hops = tuple(hop if h.hop == hop.hop else h for h in self.hops)
        if not any(h.hop == hop.hop for h in self.hops):
            hops = (*hops, hop)
        return evolve(self, hops=hops)

    def tried_channels(self) -> frozenset[str]:
        return frozenset(h.channel for h in self.hops)


def prune_pending(patient: Patient, lookup: Callable[[str], Message | None]) -> Patient:
    """Forget pending entries whose message is final, gone, or already taken by a provider."""
    def still(p: Pending) -> bool:
        msg = lookup(p.message_id)
        return msg is not None and not msg.is_final and not any(h.ledger is Ledger.ACCEPTED for h in msg.hops)

    kept = tuple(p for p in patient.pending if still(p))
    patient = patient if len(kept) == len(patient.pending) else replace(patient, pending=kept)
    return prune_held(patient, lookup)


def unsent_ahead(patient: Patient, message_id: str, lookup: Callable[[str], Message | None]) -> int | None:
    """Whether a non-urgent message accepted before `message_id` is routed but not yet taken by a
    provider (planned, in flight, waiting for a retry): then `message_id` waits behind it. The answer
    is when the earlier one's next try is due (0: unknown, look again soon); None: nothing ahead."""
    for p in patient.pending:
        if p.message_id == message_id:
            break
        msg = None if p.urgent else lookup(p.message_id)
        hop = msg.current if msg is not None and not msg.is_final else None
        if msg is not None and hop is not None and hop.ledger in UNSENT:
            last = msg.history[-1] if msg.history else None
            return (last.next_attempt_at_ms or 0) if last is not None and last.attempt_id == hop.attempt_id else 0
    return None


def prune_held(patient: Patient, lookup: Callable[[str], Message | None]) -> Patient:
    """Forget queue entries whose message ended, is gone, or was routed: a lost entry must not hold
    the patient's later messages for ever."""
    def waiting(h: Held) -> bool:
        msg = lookup(h.message_id)
        return msg is not None and not msg.is_final and not msg.hops

    kept = tuple(h for h in patient.held if waiting(h))
    return patient if len(kept) == len(patient.held) else replace(patient, held=kept)


UNSENT = frozenset({Ledger.PLANNED, Ledger.IN_FLIGHT, Ledger.WAITING})


def attempt_id(message_id: str, hop: int) -> str:
    """DispatchCommand.attempt_id: the reference carried to the provider and back."""
    return f"{message_id}:{hop}"
