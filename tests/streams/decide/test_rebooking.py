"""Rebooking decisions as tables: which slots are offered, holds against two patients at once, the pick."""
from __future__ import annotations

import pytest

from streams.decide.rebooking import HOLD_MS, MIN_LEAD_MS, NO_SLOT, Hold, Slot, offer, pick, take

NOW = 1_800_000_000_000
H = 3_600_000
ORIGINAL = NOW + 48 * H
DR, ROOM = frozenset({"Practitioner/77"}), frozenset({"Location/norte"})


def slot(slot_id: str, hours_from_original: float, *, status: str = "free", practitioner: str = "Practitioner/77",
         location: str = "Location/norte") -> Slot:
    start = int(ORIGINAL + hours_from_original * H)
    return Slot(slot_id, status, frozenset({practitioner}), frozenset({location}), start, start + H // 2)


def offered(slots: list[Slot], holds: dict[str, Hold] | None = None, rid: str = "ana",
            practitioners: frozenset[str] = DR, locations: frozenset[str] = ROOM) -> list[str]:
    return [s.slot_id for s in offer(slots, holds or {}, recipient_id=rid, practitioners=practitioners,
                                     locations=locations, original_ms=ORIGINAL, now_ms=NOW).slots]


@pytest.mark.parametrize(("slots", "expected"), [
    pytest.param([slot("a", 1), slot("b", -1), slot("c", 3)], ["b", "a", "c"], id="time-order"),
    pytest.param([slot(f"s{i}", i) for i in range(1, 8)], ["s1", "s2", "s3", "s4", "s5"], id="at-most-five-nearest"),
    pytest.param([slot("far", 24), slot("near", -2), slot("mid", 5)], ["near", "mid", "far"], id="nearest-first"),
    pytest.param([slot("busy", 1, status="busy"), slot("tent", 2, status="busy-tentative"), slot("ok", 3)], ["ok"],
                 id="only-free"),
    pytest.param([slot("soon", -48 + 1), slot("ok", 1)], ["ok"], id="not-within-the-lead-time"),
    pytest.param([slot("other", 1, practitioner="Practitioner/9"), slot("mine", 5)], ["mine"],
                 id="same-practitioner-first"),
    pytest.param([slot("room", 1, practitioner="Practitioner/9")], ["room"],
                 id="same-location-when-the-practitioner-has-none"),
    pytest.param([slot("x", 1, practitioner="Practitioner/9", location="Location/sur")], [], id="nothing-related"),
    pytest.param([], [], id="no-slots"),
])
def test_which_slots_are_offered(slots: list[Slot], expected: list[str]) -> None:
    assert offered(slots) == expected


def test_nothing_fits_tells_staff() -> None:
    o = offer([], {}, recipient_id="ana", practitioners=DR, locations=ROOM, original_ms=ORIGINAL, now_ms=NOW)
    assert (o.slots, o.holds, o.reason) == ((), (), NO_SLOT)


def test_offered_slots_are_held_for_the_patient_until_the_hold_ends() -> None:
    o = offer([slot("a", 1)], {}, recipient_id="ana", practitioners=DR, locations=ROOM, original_ms=ORIGINAL,
              now_ms=NOW)
    assert o.holds == (Hold("a", "ana", NOW + HOLD_MS),) and MIN_LEAD_MS < 48 * H


@pytest.mark.parametrize(("hold", "rid", "expected"), [
    pytest.param(Hold("a", "ben", NOW + 1), "ana", ["b"], id="held-for-another-patient"),
    pytest.param(Hold("a", "ben", NOW), "ana", ["a", "b"], id="another-patients-hold-ended"),
    pytest.param(Hold("a", "ana", NOW + 1), "ana", ["a", "b"], id="held-for-this-patient"),
])
def test_holds(hold: Hold, rid: str, expected: list[str]) -> None:
    assert offered([slot("a", 1), slot("b", 2)], {"a": hold}, rid=rid) == expected


def test_two_patients_racing_for_one_slot_never_both_get_it() -> None:
    holds: dict[str, Hold] = {}
    first = offer([slot("only", 1)], holds, recipient_id="ana", practitioners=DR, locations=ROOM,
                  original_ms=ORIGINAL, now_ms=NOW)
    holds.update({h.slot_id: h for h in first.holds})
    second = offer([slot("only", 1)], holds, recipient_id="ben", practitioners=DR, locations=ROOM,
                   original_ms=ORIGINAL, now_ms=NOW + 1)
    assert [s.slot_id for s in first.slots] == ["only"] and second.reason == NO_SLOT
    assert take(holds, ("only",), 1, "ben", NOW + 2).slot_id is None  # even naming it
    assert take(holds, ("only",), 1, "ana", NOW + 2).slot_id == "only"


@pytest.mark.parametrize(("holds", "option", "now", "taken"), [
    pytest.param({"a": Hold("a", "ana", NOW + HOLD_MS)}, 1, NOW, ("a", "picked"), id="picked"),
    pytest.param({}, 2, NOW, ("b", "picked"), id="picked-without-hold-nobody-else-holds-it"),
    pytest.param({"a": Hold("a", "ben", NOW + 5)}, 1, NOW, (None, "expired"), id="hold-lapsed-and-taken"),
    pytest.param({}, 3, NOW, (None, "not_offered"), id="option-out-of-range"),
])
def test_take(holds: dict[str, Hold], option: int, now: int, taken: tuple[str | None, str]) -> None:
    t = take(holds, ("a", "b"), option, "ana", now)
    assert (t.slot_id, t.reason) == taken


@pytest.mark.parametrize(("text", "count", "option"), [
    pytest.param("2", 3, 2, id="digit"),
    pytest.param(" 2. ", 3, 2, id="digit-with-dot"),
    pytest.param("opción 2", 3, 2, id="opcion-es"),
    pytest.param("Option 3", 3, 3, id="option-en"),
    pytest.param("opção 1", 3, 1, id="opcao-pt"),
    pytest.param("#1", 3, 1, id="hash"),
    pytest.param("dos", 3, 2, id="word-es"),
    pytest.param("two", 3, 2, id="word-en"),
    pytest.param("dois", 3, 2, id="word-pt"),
    pytest.param("4", 3, None, id="beyond-the-offer"),
    pytest.param("0", 3, None, id="zero"),
    pytest.param("2 o 3", 3, None, id="two-options"),
    pytest.param("mañana mejor", 3, None, id="words"),
    pytest.param("", 3, None, id="empty"),
    pytest.param("2", 0, None, id="nothing-offered"),
])
def test_pick(text: str, count: int, option: int | None) -> None:
    assert pick(text, count) == option
