"""Recovery on assignment: which messages of newly assigned partitions get their dispatch command again.

A worker that is assigned partitions (a restart after a crash, or a rebalance) has their messages
recovered from the changelog, but cannot tell whether a hop's command is still in
`dispatch.commands` waiting to be read, or was read by a worker that died (or lost it) before its
ledger record was stored. So it lets its dispatcher work through what is waiting for `QUIET_MS`,
then re-issues the command of every message whose current hop has not reached a provider and that
nothing touched since the assignment: no message waits for the reconciliation sweep's stuck
threshold. A second command is harmless: the dispatch ledger skips an ACCEPTED hop, holds an
IN_FLIGHT one in doubt (grace period, lookup or status callback before any second call), and sends a
PLANNED one once (its copy then finds it IN_FLIGHT or ACCEPTED).
"""
from __future__ import annotations

from streams.decide.records import Ledger, Message

# long enough for the dispatcher to read what was waiting in its partitions after a restart, short
# enough that a lost command costs seconds, not the sweep's minutes
QUIET_MS = 10_000

# WAITING hops are left out: their command is parked in a delay topic for the retry backoff and held
# uncommitted until forwarded, so whoever owns the partition next reads it again; re-issuing it
# would retry before a provider's Retry-After. The reconciliation sweep still covers them.
REISSUE_LEDGERS = frozenset({Ledger.PLANNED, Ledger.IN_FLIGHT})


def last_touched_ms(msg: Message) -> int:
    """When the message or its current hop last changed (a replayed command marks the hop in flight
    or in doubt without changing the message's status)."""
    hop = msg.current
    if hop is None:
        return msg.updated_at_ms
    return max(msg.updated_at_ms, hop.routed_at_ms, hop.in_flight_since_ms or 0, hop.doubt_since_ms or 0)


def reissue_after_assignment(msg: Message, assigned_at_ms: int) -> bool:
    """Re-issue this message's command? Yes when its current hop is still to reach a provider
    (PLANNED or IN_FLIGHT), a command is remembered, and nothing touched it since the assignment.
    Call it once the dispatcher had `QUIET_MS` to read what was waiting."""
    hop = msg.current
    if hop is None or msg.command is None or msg.is_final or msg.reached:
        return False
    return hop.ledger in REISSUE_LEDGERS and last_touched_ms(msg) < assigned_at_ms
