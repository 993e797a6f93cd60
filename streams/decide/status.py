"""The delivery status state machine: ranked progress, terminal branches, a merge that never lowers.

Progress: accepted < routed < queued < sent < delivered < read. Terminal branches: failed,
undelivered, expired, cancelled, blocked. Every event is kept in the history with the provider's
own timestamp, whether or not it changed the status; each change becomes one DeliveryOutcome.

The same merge runs per attempt (one channel hop) and per message. A hop's failure that leads to a
fallback is recorded on the hop but does not end the message; the message fails only when no
channel is left.
"""
from __future__ import annotations

from dataclasses import dataclass

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
    source: str = "pipeline"  # pipeline, provider, poll, implied, deadline


def merge(current: str | None, incoming: str) -> str:
    """The status after `incoming`: never lower than `current`.

    - Progress statuses only move up (a late `queued` after `sent` changes nothing).
    - A terminal failure ends progress below delivered; the first terminal status stays.
    - `delivered`/`read` win over everything. After `delivered`, a failure changes nothing: the
      patient has the message. Before it, this is the multi-device WhatsApp case: Meta can report
      `failed` (one device) and later `delivered` (another). We let `delivered` win, because it is
      a fact about the patient's phone while `failed` only says one delivery path failed; if the
      failure already triggered a fallback, the history shows both hops, and a fallback hop not
      yet sent is dropped by the dispatcher because the message is delivered.
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
    history: tuple[Entry, ...]   # entries to append (every event, changed or not)


def advance(current: str | None, event: Entry) -> Step:
    """Apply one event to an attempt's status. `read` without `delivered` implies `delivered`."""
    entries: list[Entry] = []
    if event.status == "read" and current not in REACHED:
        entries.append(Entry("delivered", event.at_ms, event.channel, event.provider, event.attempt_id,
                             None, "implied"))
    entries.append(event)
    status = current
    changes: list[Change] = []
    for entry in entries:
        new = merge(status, entry.status)
        if new != status:
            changes.append(Change(new, status, entry))
        status = new
    assert status is not None
    return Step(status, tuple(changes), tuple(entries))


def message_merge(current: str, hop_status: str, *, final: bool) -> str:
    """The message's status after one of its hops moved to `hop_status`; a hop failure that falls
    back (final=False) leaves the message as it is."""
    if hop_status in FAILURES and not final:
        return current
    return merge(current, hop_status)
