"""Ending a hop: fall back to the patient's next channel, or end the message when none is left.

Shared by the dispatcher (permanent send errors, spent retries, open circuits) and the reconciler
(failure callbacks, delivery deadlines). It runs only once the current hop definitely failed or
timed out, so a patient never has two channels in flight for one message.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from streams.decide import lifecycle
from streams.decide import status as st
from streams.decide.consent import reach_for
from streams.decide.lifecycle import Outcome
from streams.decide.records import Hop, Ledger, Message, Patient, attempt_id
from streams.decide.routing import Content, Instance, NoRoute, Route, choose
from streams.decide.world import World


@dataclass(frozen=True)
class HopEnd:
    message: Message
    outcomes: tuple[Outcome, ...]
    next_hop: Hop | None = None  # dispatch this one


def content_of(msg: Message, world: World) -> Content:
    status = world.template_status(msg.template, msg.language) if msg.template is not None else "UNKNOWN"
    return Content(msg.template, msg.has_text, msg.template is not None, status)


def next_route(msg: Message, patient: Patient, world: World, reason: str, *, same_channel: bool = False,
               avoid: frozenset[str] = frozenset(), only: tuple[str, ...] | None = None) -> Route | NoRoute:
    """The next hop's route. `same_channel`: the instance, not the channel, failed (try another
    sender of the same channel first). `only`: these of the message's channels (an urgent notice's
    call); a message already delivered only moves on to another sender of its call. With every
    remaining circuit open, the route ignores circuits: the dispatcher parks it until the circuit
    lets a trial through."""
    current = msg.current
    if only is None and msg.reached and current is not None:
        only = (current.channel,)
    channels = tuple(ch for ch in msg.channels if only is None or ch in only)
    tried = msg.tried_channels() - ({current.channel} if same_channel and current else set())
    used = avoid | frozenset(h.instance_id for h in msg.hops)

    def instances(channel: str) -> list[Instance]:
        return [i for i in world.instances(msg.organization_id, channel) if i.id not in used]

    args = (channels, reach_for(patient.consent, msg.template, msg.consent_notice), instances)
    rest = (patient.last_inbound(), content_of(msg, world), world.now_ms)
    found = choose(*args, world.is_open, world.reopens_at, *rest, tried=tried, reason=reason,
                   window_ms=world.policy.whatsapp_window_ms)
    if isinstance(found, NoRoute) and found.reason == "circuit_open":
        ignoring = choose(*args, lambda _: False, world.reopens_at, *rest, tried=tried, reason=reason,
                          window_ms=world.policy.whatsapp_window_ms)
        if isinstance(ignoring, Route):
            return ignoring
    return found


def new_hop(msg: Message, found: Route, world: World) -> Hop:
    number = (msg.current.hop + 1) if msg.current else 0
    return Hop(number, attempt_id(msg.message_id, number), found.channel, found.instance.id, found.instance.provider,
               found.reason, world.now_ms, world.now_ms + world.policy.deadline_ms(msg.priority), found.use_template)


def end_hop(msg: Message, hop: Hop, entry: st.Entry, patient: Patient, world: World, *, final_error: bool,
            next_reason: str, same_channel: bool = False) -> HopEnd:
    """Record the hop's failure (`entry`: failed, undelivered, expired or blocked) and pick what
    follows. A hop that is no longer the current one (the message moved on while its call was out:
    a deadline fallback, a delivery elsewhere, a cancellation) only records the failure."""
    hop = replace(hop, ledger=Ledger.FAILED if hop.ledger is not Ledger.ACCEPTED else hop.ledger)
    current = msg.current
    if current is None or current.hop != hop.hop or msg.reached or msg.is_final:
        msg, outs = lifecycle.hop_event(msg, hop, entry, final=False, reason="superseded")
        return HopEnd(msg, outs)
    if msg.expires_at_ms is not None and world.now_ms >= msg.expires_at_ms:
        msg, outs = lifecycle.hop_event(msg, hop, entry, final=False, reason="message_expired")
        msg, more = lifecycle.finish(msg, "expired", world.now_ms, "message_expired", entry.error_code)
        return HopEnd(msg, outs + more)
    found: Route | NoRoute = NoRoute("final_error") if final_error else next_route(
        msg, patient, world, next_reason, same_channel=same_channel)
    if isinstance(found, NoRoute):
        msg, outs = lifecycle.hop_event(msg, hop, entry, final=True, reason=found.reason)
        return HopEnd(msg, outs)
    msg, outs = lifecycle.hop_event(msg, hop, entry, final=False, reason=next_reason)
    hop_next = new_hop(msg, found, world)
    msg, routed = lifecycle.route(msg, hop_next, world.now_ms)
    return HopEnd(msg, (*outs, routed), hop_next)
