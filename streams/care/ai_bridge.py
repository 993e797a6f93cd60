"""The AI agent bridge: free text no flow claims goes to `ai.requests`; the agent's reply on
`ai.responses` goes back to the patient in the same conversation, as an automated reply.

The wait is state, not a timer: each request records its deadline (now + CARELAY_CARE_AI_REPLY_TIMEOUT_S,
3 s), so a worker that restarts still sends the holding message. Past the deadline the patient gets
the `holding_message` template and staff are flagged (`ai_timeout`); a reply that arrives after that
is dropped (`late`): once a patient has been told a person will answer, the person owns the thread.
An agent that asks for a person (`handoff`) gets the same holding message and a staff flag
(`ai_handoff`).

Every automated send is judged against the patient's own loop guard state (`Patient.loop`, the one
intake charges when it dispatches the send), so the bridge and intake count the same conversation
once: the bridge only looks, except when it refuses, which pauses the conversation and flags staff
(`loop_paused`) instead of sending.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from streams.care import loopguard
from streams.care.loopguard import LoopConfig, LoopState

HOLDING_TEMPLATE = "holding_message"
MAX_WAITING = 8  # requests one patient may have in flight; older ones are abandoned to staff

Sealed = tuple[str, ...]  # a sealed value kept as state (streams.decide.records.SealedState)


@dataclass(frozen=True)
class Waiting:
    request_id: str
    inbound_event_id: str
    channel: str
    language: str | None
    deadline_ms: int
    appointment_id: str | None = None
    recipient: Sealed | None = None  # the patient's number, sealed: where the reply goes


@dataclass(frozen=True)
class Bridge:
    """Per patient (`Patient.ai`, table keyed by recipient_id): the requests awaiting the agent."""

    waiting: tuple[Waiting, ...] = ()


@dataclass(frozen=True)
class Request:
    """An AiMessage for `ai.requests`; the agent seals the text (field `text`)."""

    request_id: str
    conversation_id: str
    correlation_id: str  # the inbound event id
    channel: str
    language: str | None
    appointment_id: str | None


@dataclass(frozen=True)
class Send:
    """A SendRequest-like reply: same conversation, automated_reply=true, source "ai"."""

    message_id: str
    correlation_id: str       # the request it answers
    channel: str
    language: str | None
    template: str | None = None  # holding message; None: the agent's text (sealed in the AiMessage)
    automated_reply: bool = True


@dataclass(frozen=True)
class Outcome:
    bridge: Bridge
    loop: LoopState                  # the patient's loop state: changed only when a refusal paused it
    send: Send | None = None
    staff_reason: str | None = None  # ai_timeout, ai_handoff, loop_paused
    ignored: str | None = None       # unknown_or_late, late
    entry: Waiting | None = None     # the request this outcome settles


def conversation_id(organization_id: str, recipient_id: str) -> str:
    return f"{organization_id}|{recipient_id}"


def request(bridge: Bridge, organization_id: str, recipient_id: str, inbound_event_id: str, channel: str,
            language: str | None, now_ms: int, timeout_ms: int = 3000, appointment_id: str | None = None,
            recipient: Sealed | None = None) -> tuple[Bridge, Request]:
    """Free text nobody claimed: ask the agent. Idempotent per inbound event."""
    request_id = f"ai:{inbound_event_id}"
    req = Request(request_id, conversation_id(organization_id, recipient_id), inbound_event_id, channel, language,
                  appointment_id)
    if any(w.request_id == request_id for w in bridge.waiting):
        return bridge, req
    entry = Waiting(request_id, inbound_event_id, channel, language, now_ms + timeout_ms, appointment_id, recipient)
    return replace(bridge, waiting=(*bridge.waiting, entry)[-MAX_WAITING:]), req


def _automated(loop: LoopState, now_ms: int, cfg: LoopConfig, send: Send, remaining: Bridge,
               staff_reason: str | None, entry: Waiting) -> Outcome:
    verdict, charged = loopguard.allow_automated(loop, now_ms, cfg)
    if not verdict.allowed:
        return Outcome(remaining, charged, None, "loop_paused", entry=entry)
    # allowed: intake charges the count when it dispatches the send; counting here too would halve the cap
    return Outcome(remaining, loop, send, staff_reason, entry=entry)


def _holding(entry: Waiting) -> Send:
    return Send(f"{entry.request_id}:holding", entry.request_id, entry.channel, entry.language, HOLDING_TEMPLATE)


def on_response(bridge: Bridge, loop: LoopState, correlation_id: str, handoff: bool, now_ms: int,
                cfg: LoopConfig) -> Outcome:
    """The agent answered request `correlation_id` (AiMessage.correlation_id). A reply past the deadline
    is dropped even when `expire` has not run yet: the holding message is owed and wins."""
    entry = next((w for w in bridge.waiting if w.request_id == correlation_id), None)
    if entry is None:
        return Outcome(bridge, loop, ignored="unknown_or_late")
    if now_ms > entry.deadline_ms:
        return Outcome(bridge, loop, ignored="late")
    remaining = Bridge(tuple(w for w in bridge.waiting if w is not entry))
    if handoff:
        return _automated(loop, now_ms, cfg, _holding(entry), remaining, "ai_handoff", entry)
    send = Send(f"{entry.request_id}:reply", entry.request_id, entry.channel, entry.language)
    return _automated(loop, now_ms, cfg, send, remaining, None, entry)


def expire(bridge: Bridge, loop: LoopState, now_ms: int, cfg: LoopConfig) -> tuple[Outcome, ...]:
    """Requests past their deadline: a holding message each (loop guard permitting) and a staff flag.
    Each outcome carries the state after it; the last one's is the patient's new state."""
    outcomes: list[Outcome] = []
    current, probe = bridge, loop
    for entry in [w for w in bridge.waiting if now_ms > w.deadline_ms]:
        current = Bridge(tuple(w for w in current.waiting if w.request_id != entry.request_id))
        outcome = _automated(probe, now_ms, cfg, _holding(entry), current, "ai_timeout", entry)
        if outcome.send is not None:
            # judge the next holding message of this sweep as if this one were already charged
            probe = loopguard.allow_automated(probe, now_ms, cfg)[1]
            outcome = replace(outcome, loop=loop)
        else:
            loop = probe = outcome.loop
        outcomes.append(outcome)
    return tuple(outcomes)


def next_deadline(bridge: Bridge) -> int | None:
    """When the worker should look again (its in-memory deadline heap)."""
    return min((w.deadline_ms for w in bridge.waiting), default=None)
