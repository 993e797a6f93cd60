"""Send-request dedup per (organization, idempotency key) within a window, and bounded seen-id sets:
by count for provider callbacks, by time for a patient's inbound messages.

The fingerprint is a keyed hash of the opened request body (sealed fields carry random nonces, so
their bytes differ between two identical requests); the key keeps it from being a dictionary of
patients' messages.
"""
from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Verdict(StrEnum):
    NEW = "new"              # first time within the window: process it
    REPLAY = "replay"        # the same message again (redelivery, a parked request coming back)
    DUPLICATE = "duplicate"  # another message id, same key, same body: collapse into the first
    CONFLICT = "conflict"    # another message id, same key, different body: refuse it


@dataclass(frozen=True)
class IdempotencyEntry:
    key: str  # organization_id|idempotency_key
    message_id: str
    fingerprint: str
    first_seen_ms: int


@dataclass(frozen=True)
class DedupDecision:
    verdict: Verdict
    original_message_id: str | None
    entries: tuple[IdempotencyEntry, ...]  # pruned to the window, with the new entry when NEW


def fingerprint(key: bytes, parts: Iterable[str]) -> str:
    mac = hmac.new(key, digestmod=hashlib.sha256)
    for part in parts:
        mac.update(part.encode("utf-8"))
        mac.update(b"\x1f")  # unit separator: ("ab", "c") and ("a", "bc") differ
    return mac.hexdigest()[:32]


def decide(entries: tuple[IdempotencyEntry, ...], key: str, message_id: str, fp: str,
           now_ms: int, window_ms: int) -> DedupDecision:
    live = tuple(e for e in entries if now_ms - e.first_seen_ms < window_ms)
    found = next((e for e in live if e.key == key), None)
    if found is None:
        return DedupDecision(Verdict.NEW, None, (*live, IdempotencyEntry(key, message_id, fp, now_ms)))
    if found.message_id == message_id:
        return DedupDecision(Verdict.REPLAY, message_id, live)
    verdict = Verdict.DUPLICATE if found.fingerprint == fp else Verdict.CONFLICT
    return DedupDecision(verdict, found.message_id, live)


def remember(seen: tuple[str, ...], event_id: str, cap: int) -> tuple[bool, tuple[str, ...]]:
    """(already seen?, updated ids). Providers deliver callbacks at least once: their id (plus
    status, for status events) is the dedup key; the newest `cap` ids are kept."""
    if event_id in seen:
        return True, seen
    return False, (*seen, event_id)[-cap:]


# A patient writing more than this within the inbound window (a bot) pushes out the oldest ids: the
# ceiling keeps one patient's state record well under Kafka's message size.
INBOUND_IDS_CEILING = 2000


@dataclass(frozen=True)
class SeenId:
    event_id: str  # provider + provider message id
    at_ms: int     # when it was first processed


def remember_for(seen: tuple[SeenId, ...], event_id: str, now_ms: int, keep_ms: int,
                 ceiling: int = INBOUND_IDS_CEILING) -> tuple[bool, tuple[SeenId, ...]]:
    """(already seen?, updated ids) for inbound messages. A captured signed webhook (STOP, a
    confirmation) can be posted again at any time, and a provider's signature has no timestamp to
    refuse it by: the id is remembered for `keep_ms`, however many other messages arrive meanwhile."""
    live = tuple(s for s in seen if now_ms - s.at_ms < keep_ms)
    if any(s.event_id == event_id for s in live):
        return True, live
    return False, (*live, SeenId(event_id, now_ms))[-ceiling:]
