"""The admin's operations page as pure functions over plain data: each channel instance's circuit state and
recent transitions, accepted sends the stream workers never reported on, and the dead letters by reason,
with the decision whether one may be replayed.

The views that feed it (gateway.console.ops_views) hold the `circuit.events`, `deadletter` and
`deadletter.replays` topics; the accepted sends come from gateway.accepted.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

CLOSED = "closed"
RECENT_TRANSITIONS = 5  # shown per instance (the view keeps a few more)
SHOWN_DEAD_LETTERS = 50
SHOWN_UNSEEN = 20
FIELD_CHARS = 120  # a field of a dead letter's original record is cut after this many characters
# a dead letter may not be replayed: why, as a word key
ALREADY_REPLAYED, NO_VALUE, UNKNOWN_TOPIC = "already_replayed", "no_value", "unknown_topic"


@dataclass(frozen=True)
class Transition:
    instance_id: str
    state: str
    previous: str
    failures: int
    at_ms: int

    @classmethod
    def of(cls, rec: Mapping[str, Any]) -> Transition:
        return cls(str(rec["channel_instance"]), str(rec["state"]), str(rec["previous_state"]),
                   int(rec["failures"]), int(rec["occurred_at"]))


@dataclass(frozen=True)
class Instance:
    """A configured channel instance, as the page needs it (connectors.base.ChannelInstance)."""

    id: str
    organization_id: str
    channel: str
    provider: str


@dataclass(frozen=True)
class ChannelRow:
    instance: Instance
    state: str  # closed (no transition known is closed: every breaker starts closed), open, half_open
    since_ms: int | None
    transitions: tuple[Transition, ...]  # newest first


@dataclass(frozen=True)
class DeadLetter:
    dead_letter_id: str  # "<partition>-<offset>" on the deadletter topic
    organization_id: str | None  # read from the original record; None when it does not say (undecodable)
    source_topic: str
    source_partition: int
    source_offset: int
    key: bytes | None
    value: bytes | None
    reason: str
    detail: str | None
    message_id: str | None
    failed_at_ms: int


@dataclass(frozen=True)
class Replay:
    """The audit record of a replay, as `deadletter.replays` holds it."""

    dead_letter_id: str
    actor: str
    organization_id: str | None
    at_ms: int
    why: str

    @classmethod
    def of(cls, rec: Mapping[str, Any]) -> Replay:
        details = rec.get("details") or {}
        return cls(str(rec["resource"]), str(rec["actor"]), rec.get("organization_id"), int(rec["occurred_at"]),
                   str(details.get("why", "")))


@dataclass(frozen=True)
class Unseen:
    count: int  # accepted sends older than the alarm's delay without a state
    oldest_ms: int | None
    message_ids: tuple[str, ...]  # the oldest few


@dataclass(frozen=True)
class Operations:
    channels: tuple[ChannelRow, ...]
    unseen: Unseen
    counts: tuple[tuple[str, int], ...]  # dead letters per reason, most first, then by name
    total: int
    dead_letters: tuple[DeadLetter, ...]  # newest first, at most SHOWN_DEAD_LETTERS, of `reason` when given
    matched: int  # dead letters of the filter
    reason: str | None
    replayed: Mapping[str, Replay]  # of the dead letters shown
    unattributed: int  # dead letters (of every organization) whose original record names none


def channel_rows(instances: Iterable[Instance], transitions: Mapping[str, Sequence[Transition]]) -> tuple[ChannelRow,
                                                                                                           ...]:
    """Each instance with its latest state; `transitions` per instance id, oldest first."""
    rows = []
    for inst in sorted(instances, key=lambda i: (i.channel, i.id)):
        held = transitions.get(inst.id, ())
        last = held[-1] if held else None
        rows.append(ChannelRow(inst, last.state if last else CLOSED, last.at_ms if last else None,
                               tuple(reversed(held[-RECENT_TRANSITIONS:]))))
    return tuple(rows)


def unseen(accepted: Iterable[tuple[str, int]], now_ms: int, after_ms: int) -> Unseen:
    """Of (message id, accepted at) still without a state: those older than the alarm's delay."""
    late = sorted((at, mid) for mid, at in accepted if now_ms - at >= after_ms)
    return Unseen(len(late), late[0][0] if late else None, tuple(mid for _, mid in late[:SHOWN_UNSEEN]))


def ordered_counts(counts: Mapping[str, int]) -> tuple[tuple[str, int], ...]:
    """Most first, then by name."""
    return tuple(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def build(channels: tuple[ChannelRow, ...], seen: Unseen, counts: Mapping[str, int], letters: Sequence[DeadLetter],
          reason: str | None, replays: Mapping[str, Replay], unattributed: int = 0) -> Operations:
    """`counts` are the organization's dead letters per reason (every one), `letters` those held, oldest
    first; `unattributed` the dead letters whose record names no organization."""
    matching = (d for d in reversed(letters) if reason is None or d.reason == reason)
    shown = tuple(d for d, _ in zip(matching, range(SHOWN_DEAD_LETTERS), strict=False))
    total = sum(counts.values())
    return Operations(channels, seen, ordered_counts(counts), total, shown,
                      counts.get(reason, 0) if reason else total, reason,
                      {d.dead_letter_id: replays[d.dead_letter_id] for d in shown if d.dead_letter_id in replays},
                      unattributed)


def replay_refusal(letter: DeadLetter, replay: Replay | None, known_topic: bool) -> str | None:
    """Why this dead letter may not be put back on its topic, or None when it may."""
    if replay is not None:
        return ALREADY_REPLAYED  # its original record is on the topic again: a second copy would be a duplicate
    if letter.value is None:
        return NO_VALUE  # nothing was kept to put back
    if not known_topic:
        return UNKNOWN_TOPIC  # not a topic of this deployment's catalog (another prefix, a removed topic)
    return None


def organization_of(record: Mapping[str, Any]) -> str | None:
    """The organization a decoded original record belongs to: its `organization_id`, else (a webhook
    envelope) the `org` reference of its callback URL."""
    org = record.get("organization_id")
    if isinstance(org, str) and org:
        return org
    query = record.get("query")
    if isinstance(query, Mapping):
        ref = query.get("org")
        if isinstance(ref, str) and ref:
            return ref
    return None


def is_sealed(value: object) -> bool:
    return isinstance(value, Mapping) and {"kid", "nonce", "ct"} <= set(value)


def shown_fields(record: Mapping[str, Any]) -> tuple[tuple[str, str | None], ...]:
    """The original record's fields as the detail page shows them: sealed values (the PHI) never opened
    (None: the page says "sealed"), bytes by their size, everything else as text cut at FIELD_CHARS."""
    rows: list[tuple[str, str | None]] = []
    for name, value in record.items():
        text: str | None
        if is_sealed(value):
            text = None
        elif isinstance(value, bytes):
            text = f"{len(value)} bytes"
        elif value is None:
            text = "-"
        else:
            text = str(value)
            if len(text) > FIELD_CHARS:
                text = text[:FIELD_CHARS] + "\u2026"
        rows.append((name, text))
    return tuple(rows)


def clean_why(raw: str) -> str | None:
    """The reason an admin gives for a replay: 3 to 300 characters on one line, else None."""
    text = " ".join(raw.split())
    return text if 3 <= len(text) <= 300 else None
