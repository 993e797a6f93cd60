"""The conversation page's decisions, pure: one patient's thread in order, each outbound message's
status in words, the WhatsApp window, consent per channel, a loop-guard pause, and which reply the
page offers (free text, a template, or none, and why).

Everything here works on plain data the console's views hold (gateway.console.thread_views) and the
message-state records (gateway.state.present); nothing opens sealed values or talks to Kafka.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# Meta's customer-service window, the rule streams.decide.routing applies when it routes: free text on
# WhatsApp only within 24 h of the patient's last WhatsApp message, otherwise an approved template.
WINDOW_MS = 24 * 3600 * 1000
ALL_CHANNELS = "UNKNOWN"  # a ConsentChange on channel UNKNOWN speaks for every channel
SHOWN_CHANNELS = ("WHATSAPP", "SMS", "VOICE")
REPLY_CHANNELS = ("WHATSAPP", "SMS")  # a reply goes by WhatsApp, falling back to SMS
PAUSE_REASONS = frozenset({"loop_paused", "message_while_paused"})
FREE_TEXT = "free_text"
TEMPLATE = "template"
NO_REPLY = "none"
MAX_TEXT = 1600  # an SMS of ten segments; WhatsApp takes 4096


@dataclass(frozen=True)
class Inbound:
    """One message from the patient, as the inbound view holds it (words still sealed)."""

    event_id: str
    organization_id: str
    at_ms: int
    channel: str
    kind: str
    sealed_text: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)
    sealed_sender: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)
    payload: str | None = None


@dataclass(frozen=True)
class Outbound:
    """One message to the patient, as send.requests carried it (content still sealed)."""

    message_id: str
    organization_id: str
    at_ms: int
    source: str  # gateway (the API), staff (the console), workflow, ai, ...
    automated: bool
    channels: tuple[str, ...]
    template: str | None
    language: str
    sealed_text: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)
    sealed_params: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)
    sealed_recipient: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)
    staff: str | None = None  # the console account that wrote a staff reply


@dataclass(frozen=True)
class ConsentMark:
    channel: str  # a channel, or ALL_CHANNELS
    opted_in: bool
    at_ms: int
    source: str


@dataclass(frozen=True)
class Window:
    open: bool
    last_ms: int | None  # the patient's newest WhatsApp message
    closes_at_ms: int | None


def window(inbound: Sequence[Inbound], now_ms: int, window_ms: int = WINDOW_MS) -> Window:
    """Open while the newest inbound WhatsApp message is younger than 24 hours."""
    last = max((m.at_ms for m in inbound if m.channel == "WHATSAPP"), default=None)
    if last is None:
        return Window(False, None, None)
    return Window(now_ms - last < window_ms, last, last + window_ms)


def allows(marks: Mapping[str, ConsentMark], channel: str) -> bool:
    """No entry means allowed (a clinic has consent on file); else the newest of the channel's own
    entry and the every-channel entry decides, as streams.decide.consent does."""
    candidates = [m for m in (marks.get(channel), marks.get(ALL_CHANNELS)) if m is not None]
    return max(candidates, key=lambda m: m.at_ms).opted_in if candidates else True


@dataclass(frozen=True)
class ConsentRow:
    channel: str
    state: str  # on_file (no change recorded), opted_in, opted_out
    at_ms: int | None
    source: str | None


def consent_rows(marks: Mapping[str, ConsentMark]) -> tuple[ConsentRow, ...]:
    rows = []
    for channel in SHOWN_CHANNELS:
        candidates = [m for m in (marks.get(channel), marks.get(ALL_CHANNELS)) if m is not None]
        if not candidates:
            rows.append(ConsentRow(channel, "on_file", None, None))
            continue
        newest = max(candidates, key=lambda m: m.at_ms)
        rows.append(ConsentRow(channel, "opted_in" if newest.opted_in else "opted_out", newest.at_ms, newest.source))
    return tuple(rows)


@dataclass(frozen=True)
class ReplyOffer:
    form: str  # FREE_TEXT, TEMPLATE or NO_REPLY
    channels: tuple[str, ...]  # what a reply is sent on, in order
    why: str | None  # why free text is not offered (window_closed, no_whatsapp_consent) or no reply (no_consent)


def reply_offer(win: Window, marks: Mapping[str, ConsentMark]) -> ReplyOffer:
    """Free text inside the WhatsApp window (to a patient who has not opted out of WhatsApp), else a
    template; nothing when the patient opted out of every channel a reply could take."""
    channels = tuple(c for c in REPLY_CHANNELS if allows(marks, c))
    if not channels:
        return ReplyOffer(NO_REPLY, (), "no_consent")
    if "WHATSAPP" not in channels:
        return ReplyOffer(TEMPLATE, channels, "no_whatsapp_consent")
    if not win.open:
        return ReplyOffer(TEMPLATE, channels, "window_closed")
    return ReplyOffer(FREE_TEXT, channels, None)


def refusal(offer: ReplyOffer, kind: str, text: str, template: str | None, known_templates: Sequence[str]) -> \
        tuple[str, str] | None:
    """(field, reason) when a reply cannot go as asked; None when it can."""
    if offer.form == NO_REPLY:
        return "reply", "no_consent"
    if kind == FREE_TEXT:
        if offer.form != FREE_TEXT:
            return "text", offer.why or "window_closed"
        if not text.strip():
            return "text", "empty"
        if len(text) > MAX_TEXT:
            return "text", "too_long"
        return None
    if kind == TEMPLATE:
        if not template or template not in known_templates:
            return "template", "choose_template"
        return None
    return "reply", "unknown_kind"


@dataclass(frozen=True)
class Status:
    """An outbound message's state as words: the key of its status, where it is, and whether it fell back."""

    status: str  # a key of i18n.STATUSES (accepted, held, sent, delivered, read, failed, ...)
    channel: str | None
    fell_back_from: str | None  # the channel tried first, when the message moved to another
    final: bool
    reason: str | None
    error_code: str | None


REACHED = frozenset({"delivered", "read"})


def status_of(doc: Mapping[str, Any] | None) -> Status:
    """From the public shape of a MessageState (gateway.state.present), or None for a message accepted
    that the stream workers have not reported on yet."""
    if doc is None:
        return Status("accepted", None, None, False, None, None)
    channel = doc.get("channel")
    tried = [h.get("channel") for h in doc.get("history", ()) if h.get("channel") and h.get("channel") != "UNKNOWN"]
    first = tried[0] if tried else None
    fell_back = first if first is not None and channel not in (None, "UNKNOWN") and channel != first else None
    return Status(str(doc["status"]), channel if channel != "UNKNOWN" else None, fell_back,
                  bool(doc.get("is_final")), doc.get("reason"), doc.get("error_code"))


@dataclass(frozen=True)
class Pause:
    since_ms: int
    until_ms: int


def pause(notices: Sequence[Any], resumed_at_ms: int | None, now_ms: int) -> Pause | None:
    """The loop guard's pause, from the newest `loop_paused` or `message_while_paused` notice about the
    patient (its `paused_until` detail), unless a resume command came after it or the pause ran out."""
    newest = None
    for n in notices:
        if n.reason in PAUSE_REASONS and (newest is None or n.occurred_at > newest.occurred_at):
            newest = n
    if newest is None:
        return None
    until = dict(newest.details).get("paused_until", "")
    if not until.isdigit() or int(until) <= now_ms:
        return None
    if resumed_at_ms is not None and resumed_at_ms >= newest.occurred_at:
        return None
    return Pause(newest.occurred_at, int(until))


@dataclass(frozen=True)
class Entry:
    """One line of the thread: an inbound or an outbound message (never both)."""

    at_ms: int
    inbound: Inbound | None = None
    outbound: Outbound | None = None

    @property
    def id(self) -> str:
        return self.inbound.event_id if self.inbound is not None else self.outbound.message_id  # type: ignore[union-attr]


def thread(inbound: Sequence[Inbound], outbound: Sequence[Outbound], limit: int) -> tuple[list[Entry], int]:
    """The newest `limit` messages both ways, oldest first (ties: the patient's message first), and
    how many there were in all."""
    entries = [Entry(m.at_ms, inbound=m) for m in inbound] + [Entry(m.at_ms, outbound=m) for m in outbound]
    entries.sort(key=lambda e: (e.at_ms, e.inbound is None, e.id))
    return entries[-limit:] if limit > 0 else [], len(entries)


def newest_at(inbound: Sequence[Inbound], outbound: Sequence[Outbound]) -> int:
    """The time of the newest message either way (0: none): what an open page has shown."""
    return max(max((m.at_ms for m in inbound), default=0), max((m.at_ms for m in outbound), default=0))


def newer(inbound: Sequence[Inbound], outbound: Sequence[Outbound], seen_ms: int) -> tuple[int, int]:
    """Messages newer than what an open page shows: (from the patient, from the clinic)."""
    return sum(1 for m in inbound if m.at_ms > seen_ms), sum(1 for m in outbound if m.at_ms > seen_ms)


def newest_language(outbound: Sequence[Outbound], default: str) -> str:
    return max(outbound, key=lambda m: m.at_ms).language if outbound else default


def placeholders(text: str, params: Mapping[str, str]) -> str:
    """A template's text with the parameters typed so far, `[name]` for those still empty."""
    filled = {k: (v.strip() or f"[{k}]") for k, v in params.items()}
    try:
        return text.format_map(_Missing(filled))
    except (ValueError, IndexError):  # a brace in the catalog text itself: show it as written
        return text


class _Missing(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return f"[{key}]"
