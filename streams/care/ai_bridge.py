"""The AI agent bridge: free text no flow claims goes to `ai.requests`; the agent's reply on
`ai.responses` goes back to the patient in the same conversation, as an automated reply.

The wait is state, not a timer: each request records its deadline (now + CARELAY_CARE_AI_REPLY_TIMEOUT_S,
3 s), so a worker that restarts still sends the holding message. Past the deadline the patient gets
the `holding_message` template and staff are flagged (`ai_timeout`); a reply that arrives after that
is dropped (`late`): once a patient has been told a person will answer, the person owns the thread.
Every automated send (reply or holding message) goes through the loop guard first; a refused one
flags staff (`loop_paused`) instead.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from streams.decide import loopguard
from streams.decide.loopguard import LoopConfig, LoopState

HOLDING_TEMPLATE = "holding_message"
MAX_WAITING = 8  # requests one patient may have in flight; older ones are abandoned to staff


@dataclass(frozen=True)
class Waiting:
    request_id: str
    inbound_event_id: str
    channel: str
    language: str | None
    deadline_ms: int
    appointment_id: str | None = None


@dataclass(frozen=True)
class Bridge:
    """Per patient (table keyed by recipient_id)."""

    waiting: tuple[Waiting, ...] = ()
    loop: LoopState = field(default_factory=LoopState)


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
    send: Send | None = None
    staff_reason: str | None = None  # ai_timeout, ai_handoff, loop_paused, ...
    ignored: str | None = None       # unknown, late


def conversation_id(organization_id: str, recipient_id: str) -> str:
    return f"{organization_id}|{recipient_id}"


def request(bridge: Bridge, organization_id: str, recipient_id: str, inbound_event_id: str, channel: str,
            language: str | None, now_ms: int, timeout_ms: int = 3000,
            appointment_id: str | None = None) -> tuple[Bridge, Request]:
    """Free text nobody claimed: ask the agent. Idempotent per inbound event."""
    request_id = f"ai:{inbound_event_id}"
    req = Request(request_id, conversation_id(organization_id, recipient_id), inbound_event_id, channel, language,
                  appointment_id)
    if any(w.request_id == request_id for w in bridge.waiting):
        return bridge, req
    entry = Waiting(request_id, inbound_event_id, channel, language, now_ms + timeout_ms, appointment_id)
    return replace(bridge, waiting=(*bridge.waiting, entry)[-MAX_WAITING:]), req


def _automated(bridge: Bridge, now_ms: int, cfg: LoopConfig, send: Send, remaining: tuple[Waiting, ...],
               staff_reason: str | None) -> Outcome:
    verdict, loop = loopguard.allow_automated(bridge.loop, now_ms, cfg)
    updated = Bridge(remaining, loop)
    if not verdict.allowed:
        return Outcome(updated, None, "loop_paused")
    return Outcome(updated, send, staff_reason)


def on_response(bridge: Bridge, correlation_id: str, handoff: bool, now_ms: int, cfg: LoopConfig) -> Outcome:
    """The agent answered request `correlation_id` (AiMessage.correlation_id). A reply past the deadline
    is dropped even when `expire` has not run yet: the holding message is owed and wins."""
    entry = next((w for w in bridge.waiting if w.request_id == correlation_id), None)
    if entry is None:
        return Outcome(bridge, ignored="unknown_or_late")
    remaining = tuple(w for w in bridge.waiting if w is not entry)
    if now_ms > entry.deadline_ms:
        # past the deadline: the holding message (expire) wins even if the sweep has not run yet
        return Outcome(bridge, ignored="late")
    if handoff:
        return Outcome(replace(bridge, waiting=remaining), None, "ai_handoff")
    send = Send(f"{entry.request_id}:reply", entry.request_id, entry.channel, entry.language)
    return _automated(bridge, now_ms, cfg, send, remaining, None)


def expire(bridge: Bridge, now_ms: int, cfg: LoopConfig) -> tuple[Outcome, ...]:
    """Requests past their deadline: a holding message each (loop guard permitting) and a staff flag."""
    outcomes: list[Outcome] = []
    current = bridge
    for entry in [w for w in bridge.waiting if now_ms > w.deadline_ms]:
        remaining = tuple(w for w in current.waiting if w.request_id != entry.request_id)
        send = Send(f"{entry.request_id}:holding", entry.request_id, entry.channel, entry.language, HOLDING_TEMPLATE)
        outcome = _automated(current, now_ms, cfg, send, remaining, "ai_timeout")
        outcomes.append(outcome)
        current = outcome.bridge
    return tuple(outcomes)


def next_deadline(bridge: Bridge) -> int | None:
    """When the agent should look again (a delay-topic record or a table sweep)."""
    return min((w.deadline_ms for w in bridge.waiting), default=None)
