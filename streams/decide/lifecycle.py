"""Applying status events to a Message record: every change yields one Outcome (a DeliveryOutcome).

Outcome ids are deterministic (message, hop, status), so an outcome emitted twice after a crash
and replay is the same event twice, which the analytics sink deduplicates.
"""
from __future__ import annotations

from dataclasses import dataclass

from streams.decide import status as st
from streams.decide import urgent
from streams.decide.evolve import evolve
from streams.decide.records import Hop, Ledger, Message


@dataclass(frozen=True)
class Outcome:
    message_id: str
    status: str
    previous: str | None
    hop: int
    attempt_id: str | None
    channel: str
    provider: str | None
    error_code: str | None
    reason: str | None
    is_final: bool
    at_ms: int

    @property
    def event_id(self) -> str:
        return f"{self.message_id}:{self.hop}:{self.status}"


def finalize(msg: Message, now_ms: int) -> Message:
    """A message is final once delivered, read or ended, except an urgent notice whose unread call
    may still follow (decide.urgent.awaiting): it becomes final when read, when the call ends, or when
    no call will be made."""
    final = (msg.status in st.REACHED or msg.status in st.FAILURES) and not urgent.awaiting(msg)
    if final and not msg.is_final:  # updated_at moves too: analytics keeps the newest state by it
        return evolve(msg, is_final=True, final_at_ms=now_ms, updated_at_ms=max(msg.updated_at_ms, now_ms))
    return msg


def _is_final(msg: Message, status: str) -> bool:
    """An outcome is final when it is the status the message ended in (an implied `delivered` before
    `read`, or a failed call after the notice was delivered, is not)."""
    return msg.is_final and status == msg.status


def accept(msg: Message, now_ms: int) -> tuple[Message, Outcome]:
    entry = st.Entry("accepted", now_ms)
    msg = evolve(msg, status="accepted", history=(entry,), updated_at_ms=now_ms)
    return msg, Outcome(msg.message_id, "accepted", None, 0, None, "UNKNOWN", None, None, None, False, now_ms)


def route(msg: Message, hop: Hop, now_ms: int) -> tuple[Message, Outcome]:
    """A new hop: the message goes (again) to a channel."""
    entry = st.Entry("routed", now_ms, hop.channel, hop.provider, hop.attempt_id)
    previous = msg.status
    msg = evolve(msg.with_hop(hop), status=st.merge(msg.status, "routed"), history=(*msg.history, entry),
                  updated_at_ms=now_ms)
    return msg, Outcome(msg.message_id, "routed", previous if hop.hop == 0 else None, hop.hop, hop.attempt_id,
                        hop.channel, hop.provider, None, hop.reason, False, now_ms)


def hop_event(msg: Message, hop: Hop, entry: st.Entry, *, final: bool, reason: str | None = None,
              voice_after_ms: int | None = None) -> tuple[Message, tuple[Outcome, ...]]:
    """One status event of a hop's attempt. `final`: a failure here ends the message (no fallback).
    `reason` goes to the outcomes and to the entry of a failure that moved the attempt.
    `voice_after_ms`: a delivery starts an urgent notice's time to read (decide.urgent.watch)."""
    step = st.advance(hop.status, entry)
    hop = evolve(hop, status=step.status, error_code=entry.error_code if step.changes else hop.error_code)
    status = msg.status
    for change in step.changes:
        status = st.message_merge(status, change.status, final=final)
    added = tuple(evolve(e, reason=reason) if reason and not e.late and e.status in st.FAILURES and not e.reason
                  else e for e in step.history)
    msg = evolve(msg.with_hop(hop), status=status, history=(*msg.history, *added),
                 updated_at_ms=max(msg.updated_at_ms, entry.at_ms))
    if voice_after_ms is not None and step.changes and status in st.REACHED:
        msg = urgent.watch(msg, entry.at_ms, voice_after_ms)
    msg = finalize(msg, entry.at_ms)
    outcomes = tuple(
        Outcome(msg.message_id, c.status, c.previous, hop.hop, hop.attempt_id, hop.channel, hop.provider,
                c.entry.error_code, reason, _is_final(msg, c.status), c.entry.at_ms)
        for c in step.changes
    )
    return msg, outcomes


def retrying(msg: Message, hop: Hop, now_ms: int, reason: str, error_code: str | None, next_at_ms: int) -> Message:
    """The hop's attempt waits for another provider call: a `retrying` history entry with the call
    that failed and when the next one is due. The message's status stays; a wait that follows the
    same call again (an open circuit checked once more) replaces its entry instead of adding one."""
    entry = st.Entry(st.RETRYING, now_ms, hop.channel, hop.provider, hop.attempt_id, error_code, "pipeline",
                     reason=reason, attempt=hop.tries, next_attempt_at_ms=next_at_ms)
    history = msg.history
    last = history[-1] if history else None
    if (last is not None and last.status == st.RETRYING and last.attempt_id == hop.attempt_id
            and last.attempt == hop.tries and last.reason == reason):
        history = history[:-1]
    return evolve(msg, history=(*history, entry), updated_at_ms=max(msg.updated_at_ms, now_ms))


def waiting(msg: Message, now_ms: int, reason: str, next_at_ms: int) -> Message:
    """The message, not yet routed, waits: a `scheduled` (send_at) or `held` (rate_limited,
    quiet_hours) history entry saying why and when it is looked at again, which is the message's
    reason and next try while it is the latest (status.explain). The status stays `accepted`; a wait
    that follows one of the same kind and reason replaces its entry instead of adding one."""
    kind = st.SCHEDULED if reason == "send_at" else st.HELD
    entry = st.Entry(kind, now_ms, reason=reason, next_attempt_at_ms=next_at_ms)
    history = msg.history
    last = history[-1] if history else None
    if last is not None and last.status == kind and last.reason == reason:
        if last.next_attempt_at_ms == next_at_ms:
            return msg
        history = history[:-1]
    return evolve(msg, history=(*history, entry), updated_at_ms=max(msg.updated_at_ms, now_ms))


def finish(msg: Message, status: str, now_ms: int, reason: str, error_code: str | None = None
           ) -> tuple[Message, tuple[Outcome, ...]]:
    """The pipeline ends the message: cancelled, blocked, expired, or failed with no channel left."""
    hop = msg.current
    previous = msg.status
    new = st.merge(previous, status)
    entry = st.Entry(status, now_ms, hop.channel if hop else "UNKNOWN", hop.provider if hop else None,
                     hop.attempt_id if hop else None, error_code, reason=reason, late=new == previous)
    msg = finalize(evolve(msg, status=new, history=(*msg.history, entry), updated_at_ms=now_ms), now_ms)
    if new == previous:
        return msg, ()
    return msg, (Outcome(msg.message_id, new, previous, hop.hop if hop else 0, hop.attempt_id if hop else None,
                         hop.channel if hop else "UNKNOWN", hop.provider if hop else None, error_code, reason,
                         _is_final(msg, new), now_ms),)


def expired_while_waiting(msg: Message, now_ms: int) -> bool:
    """Past its `expires_at` and not with a provider: scheduled, held, queued (no hop yet) or waiting
    for a retry. The reconciliation sweep ends it `expired` (a hop planned or in flight is the
    dispatcher's to screen: it may already be with the provider)."""
    if msg.is_final or msg.expires_at_ms is None or now_ms < msg.expires_at_ms:
        return False
    hop = msg.current
    return hop is None or hop.ledger is Ledger.WAITING
