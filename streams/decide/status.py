"""The delivery status state machine: ranked progress, terminal branches, a merge that never lowers.

Progress: accepted < routed < queued < sent < delivered < read. Terminal branches: failed,
undelivered, expired, cancelled, blocked. One rule for every status: each status is recorded once per
attempt (a repeat is dropped, `is_repeat`); the first report of a status that no longer moves its
attempt (lower in rank, or a failure after `delivered` or after the first terminal status) is kept
with `late=True`, and a late entry is never the message's latest event (`latest`), never ends it and
never gives it an error code (`ending`). Each change becomes one DeliveryOutcome.

The same merge runs per attempt (one channel hop) and per message. A hop's failure that leads to a
fallback is recorded on the hop but does not end the message; the message fails only when no
channel is left.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

PROGRESS: tuple[str, ...] = ("accepted", "routed", "queued", "sent", "delivered", "read")
RANK: dict[str, int] = {s: i for i, s in enumerate(PROGRESS)}
FAILURES: frozenset[str] = frozenset({"failed", "undelivered", "expired", "cancelled", "blocked"})
REACHED: frozenset[str] = frozenset({"delivered", "read"})
KNOWN: frozenset[str] = frozenset(PROGRESS) | FAILURES


@dataclass(frozen=True)
class Entry:
    """One history entry (MessageState.history item)."""

    status: str
    at_ms: int
    channel: str = "UNKNOWN"
    provider: str | None = None
    attempt_id: str | None = None
    error_code: str | None = None
    source: str = "pipeline"  # pipeline, provider, poll, lookup, implied, deadline
    reason: str | None = None  # why the message or attempt is here (failures, retries, holds): a code
    late: bool = False         # it did not move its attempt's status (see the module docstring)
    attempt: int | None = None             # retrying: the provider call that failed (1 = the first)
    next_attempt_at_ms: int | None = None  # retrying (or held): when the next try is due


RETRYING = "retrying"  # a history entry only: the attempt waits for another provider call
HELD = "held"            # a history entry only: not yet routed, waiting (rate_limited, quiet_hours)
SCHEDULED = "scheduled"  # a history entry only: not yet routed, waiting for its send_at


def is_repeat(history: tuple[Entry, ...], event: Entry) -> bool:
    """The attempt already has this status from a report (not merely implied by a later one): the
    event adds nothing, whatever its id (a provider's replay, a poll repeating a callback)."""
    return event.attempt_id is not None and any(
        e.attempt_id == event.attempt_id and e.status == event.status and e.source != "implied" for e in history)


def latest(history: tuple[Entry, ...]) -> Entry | None:
    """The message's latest event: the last entry that is not late."""
    return next((e for e in reversed(history) if not e.late), None)


def ending(history: tuple[Entry, ...], status: str) -> Entry | None:
    """The entry that ended a message now in the failure `status` (its reason and error code are the
    message's); None for a message that is not failed, blocked, expired or cancelled. A late entry
    never ends a message, so a delivered message has no error code whatever arrived after."""
    if status not in FAILURES:
        return None
    return next((e for e in reversed(history) if not e.late and e.status == status), None)


def explain(history: tuple[Entry, ...], status: str, *, final: bool) -> Entry | None:
    """The entry whose reason, error code and next try are the message's: the one that ended a failed,
    blocked, expired or cancelled message, or, while it is not final, its latest event when that says
    when the next try is due (a retry, a hold)."""
    ended = ending(history, status)
    if ended is not None:
        return ended
    last = latest(history)
    return last if last is not None and last.next_attempt_at_ms is not None and not final else None


def merge(current: str | None, incoming: str) -> str:
    """The status after `incoming`: never lower than `current`.

    - Progress statuses only move up (a late `queued` after `sent` changes nothing).
    - A terminal failure ends progress below delivered; the first terminal status stays.
    - `delivered`/`read` win over everything: the patient has the message. A failure before it
      (WhatsApp on several devices: `failed` on one, `delivered` on another) stays in the history
      but does not end the message; a failure after it is kept with `late=True`.
    """
    if current is None or current == incoming:
        return incoming
    if incoming in REACHED:
        if current in REACHED:
            return current if RANK[current] >= RANK[incoming] else incoming
        return incoming
    if current in REACHED or current in FAILURES:
        return current
    if incoming in FAILURES:
        return incoming
    return current if RANK[current] >= RANK[incoming] else incoming


@dataclass(frozen=True)
class Change:
    status: str
    previous: str | None
    entry: Entry


@dataclass(frozen=True)
class Step:
    status: str
    changes: tuple[Change, ...]  # in order; the implied `delivered` before `read`
    history: tuple[Entry, ...]   # entries to append (every event; those that changed nothing late)


def advance(current: str | None, event: Entry) -> Step:
    """Apply one event to an attempt's status. `read` without `delivered` implies `delivered`. An
    event that does not move the status is returned in `history` marked late."""
    entries: list[Entry] = []
    if event.status == "read" and current not in REACHED:
        entries.append(Entry("delivered", event.at_ms, event.channel, event.provider, event.attempt_id,
                             None, "implied"))
    entries.append(event)
    status = current
    changes: list[Change] = []
    kept: list[Entry] = []
    for entry in entries:
        new = merge(status, entry.status)
        if new != status:
            changes.append(Change(new, status, entry))
            kept.append(entry)
        else:
            kept.append(replace(entry, late=True))
        status = new
    assert status is not None
    return Step(status, tuple(changes), tuple(kept))


def message_merge(current: str, hop_status: str, *, final: bool) -> str:
    """The message's status after one of its hops moved to `hop_status`; a hop failure that falls
    back (final=False) leaves the message as it is."""
    if hop_status in FAILURES and not final:
        return current
    return merge(current, hop_status)
