"""Self-service rebooking, pure: which free Slots to offer a patient who asked to reschedule, the
tentative holds that keep two patients from being offered one slot at once, and which option a reply
("2", "opción 2") picks.

The clinic stays the authority: a picked slot becomes an `appointment.reschedule_requested` naming it,
and the clinic books it and sends the updated Appointment. Holds are decided by one owner per
organization's slots (every offer for a slot is decided in one place, in order), so the first offer
of a slot wins it until its hold ends; a hold is the patient's until it expires or they pick.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

MAX_OFFERED = 5
HOLD_MS = 15 * 60 * 1000  # long enough to read an SMS and answer, short enough to give the slot back
MIN_LEAD_MS = 2 * 3600 * 1000  # a slot starting sooner than this is no use to someone rebooking by message
NO_SLOT = "no_slot_fits"  # staff.attention_needed reason when nothing can be offered

_WORDS = {"1": 1, "2": 2, "3": 3, "4": 4, "5": 5,
          "uno": 1, "una": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5,
          "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
          "um": 1, "uma": 1, "dois": 2, "duas": 2, "quatro": 4}
_LEAD = ("opcion", "opción", "option", "opcao", "opção", "numero", "número", "number", "#")
_LEADS = "|".join(re.escape(w) for w in _LEAD)
_CHOICE = re.compile(rf"^\s*(?:(?:{_LEADS})\.?\s*)?([a-záéíóúãõç0-9]+)\s*[.)!]?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Slot:
    slot_id: str
    status: str  # FHIR Slot.status
    practitioners: frozenset[str]
    locations: frozenset[str]
    start_ms: int
    end_ms: int


@dataclass(frozen=True)
class Hold:
    slot_id: str
    recipient_id: str
    until_ms: int


@dataclass(frozen=True)
class Offer:
    slots: tuple[Slot, ...]  # in time order: option 1 is the first
    holds: tuple[Hold, ...]  # to place with the offer
    reason: str | None       # NO_SLOT when nothing fits: staff are told


def held_by_other(holds: Mapping[str, Hold], slot_id: str, recipient_id: str, now_ms: int) -> bool:
    h = holds.get(slot_id)
    return h is not None and h.until_ms > now_ms and h.recipient_id != recipient_id


def offer(slots: Iterable[Slot], holds: Mapping[str, Hold], *, recipient_id: str, practitioners: frozenset[str],
          locations: frozenset[str], original_ms: int, now_ms: int, limit: int = MAX_OFFERED,
          hold_ms: int = HOLD_MS, lead_ms: int = MIN_LEAD_MS) -> Offer:
    """Up to `limit` free slots of the same practitioner, else of the same location, nearest the original
    time (ties: the earlier, then the id), not held for another patient; each held for this one."""
    usable = [s for s in slots if s.status == "free" and s.start_ms >= now_ms + lead_ms
              and not held_by_other(holds, s.slot_id, recipient_id, now_ms)]
    same_practitioner = [s for s in usable if s.practitioners & practitioners]
    pool = same_practitioner or [s for s in usable if s.locations & locations]
    nearest = sorted(pool, key=lambda s: (abs(s.start_ms - original_ms), s.start_ms, s.slot_id))[:limit]
    chosen = tuple(sorted(nearest, key=lambda s: (s.start_ms, s.slot_id)))
    if not chosen:
        return Offer((), (), NO_SLOT)
    return Offer(chosen, tuple(Hold(s.slot_id, recipient_id, now_ms + hold_ms) for s in chosen), None)


def pick(text: str | None, offered: int) -> int | None:
    """The option (1-based) a reply names, or None: "2", "2.", "opción 2", "#2", "dos", "two"."""
    if not text or offered <= 0:
        return None
    m = _CHOICE.match(text.strip())
    if m is None:
        return None
    word = m.group(1).lower()
    n = int(word) if word.isdigit() else _WORDS.get(word)
    return n if n is not None and 1 <= n <= offered else None


@dataclass(frozen=True)
class Taken:
    slot_id: str | None  # the slot the patient gets, None when refused
    reason: str          # picked, expired (their hold ended and another patient holds it), not_offered


def take(holds: Mapping[str, Hold], offered: tuple[str, ...], option: int, recipient_id: str, now_ms: int) -> Taken:
    """The patient's pick of an option they were offered: theirs while no one else holds the slot."""
    if not 1 <= option <= len(offered):
        return Taken(None, "not_offered")
    slot_id = offered[option - 1]
    if held_by_other(holds, slot_id, recipient_id, now_ms):
        return Taken(None, "expired")
    return Taken(slot_id, "picked")
