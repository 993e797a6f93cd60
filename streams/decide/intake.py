"""Intake: what happens to one send request: ignore, refuse, park for later, or dispatch hop 0.

Order: dedup, expiry, schedule, consent, routing, quiet hours, the patient's queue, rate limits,
loop guard. Rate tokens and the loop-guard count are charged only when the request is dispatched,
so a parked request coming back is not charged twice. With every circuit open the request is still
routed: the dispatcher parks the command until the circuit lets a trial call through.

One patient, one queue: a non-urgent message that must wait (rate limit, quiet hours) joins the
patient's FIFO (`Patient.held`); a later message waits behind it even when its own limits would let
it go, and only the head is released. Urgent notices skip the queue. No park outlives the message's
`expires_at`: it comes back then and ends `expired`.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

from streams.care import loopguard
from streams.care.clock import zone
from streams.decide import dedup, lifecycle, ratelimit
from streams.decide.consent import allowed_channels, reach_for
from streams.decide.fallback import new_hop, next_route
from streams.decide.lifecycle import Outcome
from streams.decide.records import Hop, Message, Patient, Question, SealedState
from streams.decide.routing import NoRoute
from streams.decide.world import World


@dataclass(frozen=True)
class Request:
    """The parts of a SendRequest that intake decides on (no PHI)."""

    message_id: str
    organization_id: str
    recipient_id: str
    idempotency_key: str
    fingerprint: str
    channels: tuple[str, ...]
    priority: str = "NORMAL"
    template: str | None = None
    language: str = "es"
    has_text: bool = False
    asks: str | None = None
    appointment_id: str | None = None
    automated: bool = False
    send_at_ms: int | None = None
    expires_at_ms: int | None = None
    params: SealedState | None = None  # kept only for a reminder that asks (sealed, never opened here)
    timezone: str | None = None  # the patient's IANA zone, when the sender named it
    consent_notice: bool = False       # an opt-out / opt-in confirmation: outside the patient's caps


# A message behind the head comes back this long after the head's own due time (never sooner than
# this from now): the head, released first, has left by then.
QUEUE_STEP_MS = 1000


class Action(StrEnum):
    IGNORE = "ignore"      # nothing to do (replay of a request already handled)
    FINISH = "finish"      # the message ended here (duplicate, conflict, expired, blocked, no route)
    PARK = "park"          # come back at due_ms (scheduled, rate_limited)
    DISPATCH = "dispatch"  # send hop 0


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: str
    patient: Patient
    message: Message | None = None
    outcomes: tuple[Outcome, ...] = ()
    due_ms: int | None = None
    hop: Hop | None = None
    shared: Mapping[str, ratelimit.Bucket] = field(default_factory=dict)  # charged org / sender buckets
    alert: str | None = None    # loop guard paused the conversation
    limiter: str | None = None  # which rate limit parked it: hour, day, urgent, org, inst, queue


def new_message(req: Request, now_ms: int) -> Message:
    return Message(req.message_id, req.organization_id, req.recipient_id, req.priority, req.channels, req.template,
                   req.language, req.has_text, req.asks, req.appointment_id, req.automated, now_ms,
                   req.expires_at_ms, params=req.params, consent_notice=req.consent_notice)


def _finish(patient: Patient, msg: Message, outs: tuple[Outcome, ...], status: str, reason: str, now_ms: int,
            alert: str | None = None) -> Decision:
    msg, more = lifecycle.finish(msg, status, now_ms, reason)
    return Decision(Action.FINISH, reason, patient.drop_pending(msg.message_id), msg, outs + more, alert=alert)


def _park(patient: Patient, msg: Message, outs: tuple[Outcome, ...], now_ms: int, reason: str, hold: str,
          due_ms: int, limiter: str | None = None, *, queue: bool = False) -> Decision:
    """Come back at `due_ms`, or at the message's expiry if that is sooner. `queue`: take (or keep)
    its place in the patient's FIFO."""
    if msg.expires_at_ms is not None:
        due_ms = min(due_ms, msg.expires_at_ms)
    if queue:
        patient = patient.hold(msg.message_id, hold, due_ms)
    msg = lifecycle.waiting(msg, now_ms, hold, due_ms)
    return Decision(Action.PARK, reason, patient, msg, outs, due_ms, limiter=limiter)


def patient_zone(patient: Patient, req: Request, org_zone: str) -> str:
    """The zone for the patient's quiet hours: the send's, the appointment's, the last one named, the org's."""
    plan = patient.reminders(req.appointment_id) if req.appointment_id else None
    if plan is None and patient.appointments:
        plan = patient.appointments[-1]
    for candidate in (req.timezone, plan.planned.timezone if plan else None, patient.timezone):
        if candidate:
            return candidate
    return org_zone


def decide(patient: Patient, existing: Message | None, req: Request, world: World,
           shared: Mapping[str, ratelimit.Bucket | None], *, unsent_ahead: int | None = None) -> Decision:
    """`unsent_ahead` (records.unsent_ahead): an earlier message of the patient is routed but not
    yet with a provider; when its next try is due (0: unknown)."""
    now, policy = world.now_ms, world.policy
    outs: tuple[Outcome, ...] = ()
    if existing is not None:
        if existing.is_final or existing.hops:
            return Decision(Action.IGNORE, "already_handled", patient)
        msg = existing  # a parked request coming back
    else:
        key = f"{req.organization_id}|{req.idempotency_key}"
        seen = dedup.decide(patient.idempotency, key, req.message_id, req.fingerprint, now, policy.dedup_window_ms)
        patient = replace(patient, organization_id=req.organization_id, idempotency=seen.entries)
        # A REPLAY without its message record: a worker died after the patient's changelog record
        # (holding this key) was stored and before the message's (two topics, acknowledged apart).
        # Route it again: no provider was called for it (a call needs the message's IN_FLIGHT record
        # stored first), and its outcomes and command have deterministic ids. A record that merely
        # expired cannot be the cause: records are kept CARELAY_MESSAGE_RETENTION_S (7 days) after
        # the message ends, past the dedup window (24 h) that makes this a REPLAY.
        msg, accepted = lifecycle.accept(new_message(req, now), now)
        outs = (accepted,)
        if seen.verdict is dedup.Verdict.DUPLICATE:
            return _finish(patient, msg, outs, "cancelled", "duplicate", now)
        if seen.verdict is dedup.Verdict.CONFLICT:
            return _finish(patient, msg, outs, "failed", "idempotency_conflict", now)
        patient = patient.add_pending(msg.message_id, msg.urgent)
        if req.timezone and req.timezone != patient.timezone:
            patient = replace(patient, timezone=req.timezone)

    if msg.expires_at_ms is not None and now >= msg.expires_at_ms:
        return _finish(patient, msg, outs, "expired", "expired_before_send", now)
    if req.send_at_ms is not None and now < req.send_at_ms:
        return _park(patient, msg, outs, now, "scheduled", "send_at", req.send_at_ms)
    if not allowed_channels(reach_for(patient.consent, msg.template, msg.consent_notice), msg.channels):
        return _finish(patient, msg, outs, "blocked", "blocked_no_consent", now)

    found = next_route(msg, patient, world, "first_choice")
    if isinstance(found, NoRoute):
        return _finish(patient, msg, outs, "failed", found.reason, now)

    if not msg.urgent:
        org_zone, quiet = world.quiet(msg.organization_id)
        tz = zone(patient_zone(patient, req, org_zone), org_zone)
        if quiet.contains(now, tz):  # automated replies travel URGENT (streams.agents.automated): not held
            return _park(patient, msg, outs, now, "quiet_hours", "quiet_hours", quiet.ends_at(now, tz), queue=True)
        ahead = patient.ahead_of(msg.message_id)
        if ahead:
            head = ahead[0]
            due = max(head.due_ms + QUEUE_STEP_MS, now + QUEUE_STEP_MS)
            return _park(patient, msg, outs, now, "queued", head.reason, due, "queue", queue=True)
        if unsent_ahead is not None:  # an earlier one is retrying or on its way: it leaves first
            due = max(unsent_ahead + QUEUE_STEP_MS, now + QUEUE_STEP_MS)
            return _park(patient, msg, outs, now, "queued", "queued", due, "queue", queue=True)

    if msg.consent_notice:
        limits = {}  # the answer to the patient's own STOP / START: no cap of theirs holds it back
    elif msg.urgent:
        limits = {"urgent": policy.urgent_hour}
    else:
        limits = {"hour": policy.recipient_hour, "day": policy.recipient_day}
    org_key, inst_key = f"org:{msg.organization_id}", f"inst:{found.instance.id}"
    limits |= {org_key: policy.org, inst_key: world.instance_limit(found.instance.id)}
    buckets = {name: patient.bucket(name) for name in limits} | {org_key: shared.get(org_key),
                                                                 inst_key: shared.get(inst_key)}
    rate = ratelimit.check(buckets, limits, now)
    if not rate.allowed:
        limiter = (rate.limiter or "").split(":")[0]
        assert rate.due_ms is not None
        return _park(patient, msg, outs, now, "rate_limited", "rate_limited", rate.due_ms, limiter,
                     queue=not msg.urgent)

    if msg.automated:
        guard = loopguard.note_automated if msg.consent_notice else loopguard.allow_automated
        verdict, loop = guard(patient.loop, now, policy.loop)
        patient = replace(patient, loop=loop)
        if not verdict.allowed:
            return _finish(patient, msg, outs, "blocked", verdict.reason or "loop_cap", now,
                           alert=verdict.reason if verdict.alert else None)

    own = {n: b for n, b in rate.buckets.items() if n in ("urgent", "hour", "day")}
    patient = patient.with_buckets(own)
    if patient.held and patient.held[0].message_id == msg.message_id:
        patient = replace(patient, held=patient.held[1:])  # the head leaves; the next is released after it
    if msg.asks == "confirm_cancel":
        patient = replace(patient, question=Question(msg.message_id, now, msg.appointment_id))
    hop = new_hop(msg, found, world)
    msg, routed = lifecycle.route(msg, hop, now)
    shared_out = {n: b for n, b in rate.buckets.items() if n in (org_key, inst_key)}
    return Decision(Action.DISPATCH, found.reason, patient, msg, (*outs, routed), hop=hop, shared=shared_out)
