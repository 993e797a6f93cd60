"""Dispatch: the ledger around one provider call, and what a call's result means for the message.

Ledger: a hop's attempt is recorded IN_FLIGHT (durably) before the provider is called and ACCEPTED
with the provider id after. A command that finds its attempt IN_FLIGHT comes from a worker that
died mid-call: the attempt is in doubt. We look it up at the provider where the API allows
(Twilio); otherwise we wait a grace period for its status callback (which carries our attempt id
and records the provider id) before sending it again.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from streams.decide import lifecycle, retry, urgent
from streams.decide import status as st
from streams.decide.consent import reach_for
from streams.decide.evolve import evolve
from streams.decide.fallback import HopEnd, end_hop, new_hop, next_route
from streams.decide.lifecycle import Outcome
from streams.decide.records import Hop, Ledger, Message, Patient
from streams.decide.routing import Route
from streams.decide.world import World

# the `retrying` entry's reason per failure kind: the provider's own trouble, never to be read as our
# rate limits (a `held` message's `rate_limited`)
RETRY_REASONS = {"retryable": "provider_error", "rate_limited": "provider_rate_limited"}


class Screen(StrEnum):
    SKIP = "skip"        # nothing to send (see reason)
    LOOKUP = "lookup"    # in doubt: ask the provider whether it has the attempt
    WAIT = "wait"        # in doubt, no lookup: park until the grace period ends
    PROCEED = "proceed"  # check consent and circuit, then call
    EXPIRE = "expire"    # the message's expires_at passed before it went out


@dataclass(frozen=True)
class Screening:
    action: Screen
    reason: str
    hop: Hop | None = None
    due_ms: int | None = None


def screen(msg: Message | None, hop_number: int, now_ms: int, *, can_lookup: bool, grace_ms: int) -> Screening:
    """What to do with a dispatch command. An IN_FLIGHT attempt without a provider id is in doubt:
    wait `grace_ms` from when the doubt was first seen (the original request settles at the provider,
    and its status callback, which carries our attempt id, gets time to arrive), then look it up where
    the provider allows, else send it again."""
    if msg is None:
        return Screening(Screen.SKIP, "unknown_message")
    if msg.reached and not urgent.calling(msg):  # an urgent notice's call follows its unread delivery
        return Screening(Screen.SKIP, "already_delivered")
    if msg.is_final and not urgent.calling(msg):
        return Screening(Screen.SKIP, "message_final")
    hop = msg.hop(hop_number)
    if hop is None or hop is not msg.current:
        return Screening(Screen.SKIP, "stale_hop")
    if hop.ledger is Ledger.ACCEPTED:
        return Screening(Screen.SKIP, "already_sent", hop)
    if hop.ledger is Ledger.FAILED:
        return Screening(Screen.SKIP, "hop_failed", hop)
    if hop.ledger is Ledger.IN_FLIGHT:
        seen = hop.doubt_since_ms if hop.doubt_since_ms is not None else now_ms
        if now_ms < seen + grace_ms:
            return Screening(Screen.WAIT, "in_doubt", evolve(hop, doubt_since_ms=seen), seen + grace_ms)
        if can_lookup:
            return Screening(Screen.LOOKUP, "in_doubt", hop)
        return Screening(Screen.PROCEED, "in_doubt_resend", hop)
    if msg.expires_at_ms is not None and now_ms >= msg.expires_at_ms:
        return Screening(Screen.EXPIRE, "message_expired", hop)
    return Screening(Screen.PROCEED, "send", hop)


def mark_in_flight(msg: Message, hop: Hop, now_ms: int) -> Message:
    return msg.with_hop(evolve(hop, ledger=Ledger.IN_FLIGHT, tries=hop.tries + 1, in_flight_since_ms=now_ms,
                                doubt_since_ms=None))


def accepted(msg: Message, hop: Hop, provider_message_id: str, status: str, now_ms: int, *, source: str = "provider"
             ) -> tuple[Message, tuple[Outcome, ...]]:
    """The provider took the attempt (send result, in-doubt lookup or first status callback)."""
    hop = evolve(hop, ledger=Ledger.ACCEPTED, provider_message_id=provider_message_id)
    msg = msg.with_hop(hop)
    if status not in st.KNOWN:
        return msg, ()
    entry = st.Entry(status, now_ms, hop.channel, hop.provider, hop.attempt_id, None, source)
    return lifecycle.hop_event(msg, hop, entry, final=False)


@dataclass(frozen=True)
class Failure:
    kind: str              # connectors.errors ProviderError.kind: retryable, rate_limited, fallback, final
    code: str | None = None
    retry_after_s: float | None = None
    in_doubt: bool = False
    opens_circuit: bool = False  # InstanceError: this sender is broken, another one may work


class After(StrEnum):
    RETRY = "retry"        # park the command for delay_ms, same hop
    IN_DOUBT = "in_doubt"  # the call may have gone through: park, then look it up / wait for status
    ENDED = "ended"        # the hop ended: see HopEnd (next hop, or the message's end)


@dataclass(frozen=True)
class AfterFailure:
    action: After
    reason: str
    message: Message
    delay_ms: int = 0
    end: HopEnd | None = None

    @property
    def outcomes(self) -> tuple[Outcome, ...]:
        return self.end.outcomes if self.end else ()


def failed(msg: Message, hop: Hop, failure: Failure, patient: Patient, world: World, rand: float) -> AfterFailure:
    now = world.now_ms
    if failure.in_doubt:
        # ledger stays IN_FLIGHT; the command comes back after the grace period to look it up
        doubted = msg.with_hop(evolve(hop, doubt_since_ms=now))
        return AfterFailure(After.IN_DOUBT, "in_doubt", doubted, world.policy.in_doubt_grace_ms)
    if failure.kind in ("retryable", "rate_limited"):
        decision = retry.after_retryable(world.policy.retry, hop.tries, rand, failure.retry_after_s)
        if decision.action is retry.Action.RETRY:
            waiting_hop = evolve(hop, ledger=Ledger.WAITING, error_code=failure.code or hop.error_code)
            waiting = lifecycle.retrying(msg.with_hop(waiting_hop), waiting_hop, now, RETRY_REASONS[failure.kind],
                                         failure.code, now + decision.delay_ms)
            return AfterFailure(After.RETRY, failure.kind, waiting, decision.delay_ms)
        reason = "retries_exhausted"
    else:
        reason = "final_error" if failure.kind == "final" else "permanent_failure"
    entry = st.Entry("failed", now, hop.channel, hop.provider, hop.attempt_id, failure.code, "pipeline")
    end = end_hop(msg, hop, entry, patient, world, final_error=failure.kind == "final",
                  next_reason=f"fallback_{reason}", same_channel=failure.opens_circuit)
    return AfterFailure(After.ENDED, reason, end.message, end=end)


def circuit_blocked(msg: Message, hop: Hop, patient: Patient, world: World, reopens_at_ms: int) -> AfterFailure:
    """The hop's sender has an open circuit: another channel or sender now, else wait for the trial."""
    found = next_route(msg, patient, world, "fallback_circuit_open", same_channel=True,
                       avoid=frozenset({hop.instance_id}))
    if isinstance(found, Route) and not world.is_open(found.instance.id):
        entry = st.Entry("failed", world.now_ms, hop.channel, hop.provider, hop.attempt_id, "circuit_open", "pipeline")
        msg_failed, outs = lifecycle.hop_event(msg, evolve(hop, ledger=Ledger.FAILED), entry, final=False,
                                               reason="fallback_circuit_open")
        nxt = new_hop(msg_failed, found, world)
        msg_routed, routed = lifecycle.route(msg_failed, nxt, world.now_ms)
        return AfterFailure(After.ENDED, "circuit_open", msg_routed, end=HopEnd(msg_routed, (*outs, routed), nxt))
    delay = max(0, reopens_at_ms - world.now_ms)
    waiting = lifecycle.retrying(msg, hop, world.now_ms, "circuit_open", None, world.now_ms + delay)
    return AfterFailure(After.RETRY, "circuit_open", waiting, delay)


def consented(msg: Message, patient: Patient, channel: str) -> bool:
    """Whether `msg` may still go out on `channel` (an opt-out's own confirmation always may)."""
    return reach_for(patient.consent, msg.template, msg.consent_notice).allows(channel)


def consent_withdrawn(msg: Message, hop: Hop, patient: Patient, world: World) -> AfterFailure:
    """The patient opted out of the hop's channel after it was routed: it is not sent there; the
    next consented channel takes it, or the message ends blocked."""
    entry = st.Entry("blocked", world.now_ms, hop.channel, hop.provider, hop.attempt_id, "no_consent", "pipeline")
    end = end_hop(msg, hop, entry, patient, world, final_error=False, next_reason="fallback_no_consent")
    return AfterFailure(After.ENDED, "no_consent", end.message, end=end)
