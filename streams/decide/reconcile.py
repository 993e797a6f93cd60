"""Reconciliation: one provider status (callback, poll result, or our own clock: a delivery deadline,
an urgent notice's time to read) applied to its message. Statuses come at least once and in any
order; the merge makes order irrelevant.
"""
from __future__ import annotations

from dataclasses import dataclass

from streams.decide import lifecycle, urgent
from streams.decide import status as st
from streams.decide.dedup import remember
from streams.decide.dispatch import accepted
from streams.decide.evolve import evolve
from streams.decide.fallback import end_hop, new_hop, next_route
from streams.decide.lifecycle import Outcome
from streams.decide.records import Hop, Ledger, Message, Patient
from streams.decide.routing import NoRoute
from streams.decide.world import World

SEEN_EVENTS = 64
DEADLINE_SOURCE = "deadline"


@dataclass(frozen=True)
class StatusFacts:
    """The parts of a ProviderStatus the reconciler decides on."""

    event_id: str
    provider: str
    channel: str
    provider_message_id: str
    status: str
    at_ms: int
    attempt_id: str | None = None
    error_code: str | None = None
    error_class: str | None = None
    source: str = "provider"  # provider (callback), poll, deadline
    opt_out: bool = False  # the error code says the patient opted out at the provider (its Capabilities)


def status_time(occurred_ms: int | None, received_ms: int | None) -> int:
    """When a status happened, to the millisecond where that can be told. Meta stamps statuses in
    whole seconds, so a WhatsApp message delivered within the second it was sent would show no
    latency at all; a receipt by the gateway within that same second is the finer clock (the status
    happened in that second, before the receipt). Any other provider time is kept as given."""
    if not occurred_ms:  # no provider time
        return received_ms or 0
    if received_ms is not None and occurred_ms % 1000 == 0 and occurred_ms <= received_ms < occurred_ms + 1000:
        return received_ms
    return occurred_ms


@dataclass(frozen=True)
class Reconciled:
    applied: bool
    reason: str
    message: Message | None
    outcomes: tuple[Outcome, ...] = ()
    next_hop: Hop | None = None
    opt_out_channel: str | None = None  # the provider says the patient opted out of this channel


def apply(msg: Message | None, facts: StatusFacts, patient: Patient, world: World) -> Reconciled:
    if msg is None:
        return Reconciled(False, "unknown_message", None)
    dup, seen = remember(msg.seen_events, facts.event_id, SEEN_EVENTS)
    if dup:
        return Reconciled(False, "duplicate", msg)
    hop = msg.hop_for(facts.attempt_id, facts.provider_message_id if facts.source != DEADLINE_SOURCE else None)
    if hop is None:
        return Reconciled(False, "unknown_attempt", msg)
    if facts.status not in st.KNOWN:
        return Reconciled(False, "unknown_status", msg)
    if facts.source == DEADLINE_SOURCE:
        if facts.error_code == urgent.UNREAD:
            return _escalate(msg, hop, patient, world)
        return _deadline(msg, hop, facts, patient, world)
    msg = evolve(msg, seen_events=seen)

    outs: tuple[Outcome, ...] = ()
    if hop.provider_message_id is None and facts.provider_message_id:
        # the first callback of an attempt whose send result we never recorded resolves the doubt
        msg, outs = accepted(msg, hop, facts.provider_message_id, "queued", facts.at_ms, source="implied")
        hop = msg.hop(hop.hop) or hop
    entry = st.Entry(facts.status, facts.at_ms, hop.channel, facts.provider, hop.attempt_id, facts.error_code,
                     facts.source)
    opt_out = hop.channel if facts.opt_out else None
    ends_hop = (facts.status in st.FAILURES and hop is msg.current and not msg.reached
                and hop.status not in st.FAILURES)
    if not ends_hop:
        if st.is_repeat(msg.history, entry):  # this attempt has this status already: nothing to add
            return Reconciled(True, "repeat", msg, outs, opt_out_channel=opt_out)
        msg, more = lifecycle.hop_event(msg, hop, entry, final=False,
                                        voice_after_ms=world.policy.urgent_voice_after_ms)
        return Reconciled(True, "applied", msg, outs + more, opt_out_channel=opt_out)
    end = end_hop(msg, hop, entry, patient, world, final_error=facts.error_class == "final",
                  next_reason="fallback_permanent_failure", same_channel=facts.error_class == "instance")
    return Reconciled(True, "hop_failed", end.message, outs + end.outcomes, end.next_hop, opt_out)


def _deadline(msg: Message, hop: Hop, facts: StatusFacts, patient: Patient, world: World) -> Reconciled:
    """No `delivered` by the hop's deadline: fall back when another channel is left. With none left
    nothing changes: the provider may still deliver, and the reconciliation poll keeps asking."""
    if hop is not msg.current or msg.reached or msg.is_final or hop.status in st.FAILURES:
        return Reconciled(False, "deadline_moot", msg)
    if isinstance(next_route(msg, patient, world, "fallback_timeout"), NoRoute):
        return Reconciled(False, "deadline_no_fallback", msg)
    entry = st.Entry("expired", facts.at_ms, hop.channel, hop.provider, hop.attempt_id, "deadline", DEADLINE_SOURCE)
    stopped = evolve(hop, ledger=Ledger.FAILED if hop.ledger is not Ledger.ACCEPTED else hop.ledger)
    end = end_hop(msg, stopped, entry, patient, world, final_error=False, next_reason="fallback_timeout")
    return Reconciled(True, "deadline_fallback", end.message, end.outcomes, end.next_hop)


def _escalate(msg: Message, hop: Hop, patient: Patient, world: World) -> Reconciled:
    """An urgent notice delivered on `hop` is still unread when its time to read is up: one voice call,
    as the next hop (the delivered hop stays as it is). Without consent or a voice sender the notice
    stays as delivered, and the time is forgotten so that it is not looked at again."""
    if hop is not msg.current:
        return Reconciled(False, "escalation_moot", msg)
    decided = urgent.escalation(msg, patient.consent, world.now_ms)
    if decided in (urgent.Escalate.MOOT, urgent.Escalate.WAIT):
        return Reconciled(False, f"escalation_{decided}", msg)
    if decided is urgent.Escalate.NO_CONSENT:
        return Reconciled(True, "escalation_no_consent", lifecycle.finalize(urgent.settle(msg), world.now_ms))
    found = next_route(msg, patient, world, urgent.ESCALATION, only=(urgent.VOICE,))
    if isinstance(found, NoRoute):
        settled = lifecycle.finalize(urgent.settle(msg), world.now_ms)
        return Reconciled(True, f"escalation_{found.reason}", settled)
    call = new_hop(msg, found, world)
    msg, routed = lifecycle.route(msg, call, world.now_ms)
    return Reconciled(True, "escalation_call", msg, (routed,), call)
