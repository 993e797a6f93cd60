"""The urgent lane after the first delivery: a notice delivered but not read in time is followed by
one voice call, and a notice that reaches nobody is handed to staff.

The rest of the lane lives where the normal path decides the same thing: intake takes urgent
requests from their own rate budget, routing gives them the short delivery deadline
(`Policy.deadline_urgent_ms`), and `care.schedule` never moves them out of quiet hours.

The call is an ordinary fallback hop (hop + 1, the `urgent_unread` route reason), chosen only among
VOICE, so a patient never gets the same notice twice on one channel, and at most one call: the rules
here look at the current hop, which is the call once it is routed.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from enum import StrEnum
from typing import Protocol, TypeVar

from streams.decide import status as st
from streams.decide.consent import Consent
from streams.decide.records import Message

VOICE = "VOICE"
ESCALATION = "urgent_unread"  # the route reason of the voice hop
FAILED = "urgent_failed"      # the staff notification's reason
UNREAD = "unread"             # the error code of our clock's event when the time to read is up
# A request refused as a repeat of another one did not fail: the original reports its own fate.
REPEATS = frozenset({"duplicate", "idempotency_conflict"})


class Escalate(StrEnum):
    CALL = "call"               # route the voice hop now
    WAIT = "wait"               # not due yet
    NO_CONSENT = "no_consent"   # the patient opted out of calls: the notice stays as delivered
    MOOT = "moot"               # read, not urgent, already called, or nothing was watched


def watch(msg: Message, delivered_at_ms: int, after_ms: int) -> Message:
    """`msg` was just delivered: remember on its current hop when to call if the notice is still
    unread (a late delivery of an earlier hop counts too: the current one is then dropped unsent).
    Only an urgent notice allowed to call (VOICE among its channels) and not on (or after) a call
    already; the first delivery sets the time."""
    hop = msg.current
    if (not msg.urgent or hop is None or hop.voice_at_ms is not None or msg.status != "delivered"
            or VOICE not in msg.channels or VOICE in msg.tried_channels()):
        return msg
    return msg.with_hop(replace(hop, voice_at_ms=delivered_at_ms + after_ms))


def call_due_ms(msg: Message) -> int | None:
    """When the unread notice must be followed by a call, while that is still pending."""
    hop = msg.current
    if hop is None or hop.voice_at_ms is None or not msg.urgent or msg.status != "delivered":
        return None
    if VOICE in msg.tried_channels():
        return None
    return hop.voice_at_ms


def escalation(msg: Message, consent: Consent, now_ms: int) -> Escalate:
    """What the notice's time to read calls for at `now_ms`."""
    due = call_due_ms(msg)
    if due is None:
        return Escalate.MOOT
    if now_ms < due:
        return Escalate.WAIT
    if not consent.allows(VOICE):
        return Escalate.NO_CONSENT
    return Escalate.CALL


def settle(msg: Message) -> Message:
    """No call will follow (no consent, no voice sender): forget the time, so it is not looked at again."""
    hop = msg.current
    if hop is None or hop.voice_at_ms is None:
        return msg
    return msg.with_hop(replace(hop, voice_at_ms=None))


def calling(msg: Message) -> bool:
    """The current hop is the escalation call, still to be placed or answered. The message is final
    (delivered) by then, yet this hop must go out, unless the patient read the notice meanwhile."""
    hop = msg.current
    return (hop is not None and hop.reason == ESCALATION and msg.status != "read"
            and hop.status not in st.REACHED and hop.status not in st.FAILURES)


def awaiting(msg: Message) -> bool:
    """A delivered urgent notice whose call may still follow (its time to read is set) or is under
    way: not final yet, whatever its status says."""
    return msg.urgent and (call_due_ms(msg) is not None or calling(msg))


class Ending(Protocol):
    """What `failed` reads of an outcome (lifecycle.Outcome, which asks `awaiting` before it ends a message)."""

    @property
    def is_final(self) -> bool: ...
    @property
    def status(self) -> str: ...
    @property
    def reason(self) -> str | None: ...


E = TypeVar("E", bound=Ending)


def failed(msg: Message, outcomes: Iterable[E]) -> E | None:
    """The outcome among `outcomes` that ended an urgent notice without reaching the patient (every
    channel failed, none was consented, it expired, or it was cancelled), if there is one: staff must
    then reach the patient another way."""
    if not msg.urgent or not msg.is_final or msg.status in st.REACHED:
        return None
    return next((o for o in outcomes if o.is_final and o.status == msg.status and o.reason not in REPEATS), None)
