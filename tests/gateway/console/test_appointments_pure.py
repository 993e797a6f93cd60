"""The appointments page's data: which appointments, which answer, which filter, in what order."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from gateway.console.appointments import (
    SHOWN,
    Answer,
    Filter,
    Plan,
    Reminder,
    build,
    day_bounds,
)

TZ = "America/Mexico_City"
ZONE = ZoneInfo(TZ)


def at(day: int, hour: int, minute: int = 0) -> int:
    return int(datetime(2026, 12, day, hour, minute, tzinfo=ZONE).timestamp() * 1000)


NOW = at(7, 10)  # Monday 7 December 2026, 10:00 in the clinic


def plan(appointment_id: str, start: int | None, *, sent: bool = True, kind: str = "BOOKED") -> Plan:
    state = "sent" if sent else "scheduled"
    return Plan("clinic", appointment_id, f"rid-{appointment_id}", kind, start, TZ,
                (Reminder("24h", (start or NOW) - 86_400_000, state, None, "m-1" if sent else None),), None, NOW)


def answer(kind: str, when: int = NOW) -> Answer:
    found = Answer.of({"type": f"appointment.{kind}", "appointment_id": "x", "occurred_at": when, "event_id": "e"})
    assert found is not None
    return found


PLANS = sorted([
    plan("later-today", at(7, 16)),
    plan("earlier-today", at(7, 8)),  # already started, still today's
    plan("tomorrow", at(8, 9)),
    plan("yesterday", at(6, 9)),
    plan("no-start", None),
    plan("not-sent", at(9, 9), sent=False),
    plan("confirmed", at(7, 12)),
    plan("cancel", at(10, 12)),
], key=lambda p: p.order)  # as the view keeps them
ANSWERS = {"confirmed": answer("confirmed"), "cancel": answer("cancel_requested")}


@pytest.mark.parametrize(("when", "answer_code", "expected"), [
    pytest.param("upcoming", None, ["earlier-today", "confirmed", "later-today", "tomorrow", "not-sent", "cancel"],
                 id="upcoming-from-start-of-today-by-start"),
    pytest.param("today", None, ["earlier-today", "confirmed", "later-today"], id="today-only-the-clinic-day"),
    pytest.param("upcoming", "no_answer", ["earlier-today", "later-today", "tomorrow"],
                 id="unanswered-after-a-reminder"),
    pytest.param("upcoming", "not_asked", ["not-sent"], id="no-reminder-sent-yet"),
    pytest.param("upcoming", "confirmed", ["confirmed"], id="confirmed"),
    pytest.param("upcoming", "cancel_requested", ["cancel"], id="cancel-requested"),
    pytest.param("today", "cancel_requested", [], id="cancel-requested-is-not-today"),
    pytest.param("bogus", "bogus", ["earlier-today", "confirmed", "later-today", "tomorrow", "not-sent", "cancel"],
                 id="unknown-filter-values-mean-the-defaults"),
])
def test_rows_by_filter(when, answer_code, expected):
    board = build(PLANS, ANSWERS, NOW, TZ, Filter.parse(when, answer_code))
    assert [r.plan.appointment_id for r in board.rows] == expected
    assert board.matched == len(expected)


def test_counts_per_answer_within_when_before_the_answer_filter():
    board = build(PLANS, ANSWERS, NOW, TZ, Filter.parse("upcoming", "confirmed"))
    assert board.counts == {"confirmed": 1, "cancel_requested": 1, "reschedule_requested": 0, "no_answer": 3,
                            "not_asked": 1}


@pytest.mark.parametrize(("events", "expected"), [
    pytest.param([("confirmed", 1)], "confirmed", id="one-answer"),
    pytest.param([("confirmed", 1), ("cancel_requested", 2)], "cancel_requested", id="newest-wins"),
    pytest.param([("cancel_requested", 2), ("confirmed", 1)], "cancel_requested", id="late-older-answer-loses"),
])
def test_newest_answer_wins(events, expected):
    held: Answer | None = None
    for kind, when in events:
        found = answer(kind, when)
        if found.newer_than(held):
            held = found
    assert held is not None and held.answer == expected


@pytest.mark.parametrize(("record", "expected"), [
    pytest.param({"type": "appointment.confirmed", "appointment_id": "a"}, "confirmed", id="confirmed"),
    pytest.param({"type": "appointment.reschedule_requested", "appointment_id": "a"}, "reschedule_requested",
                 id="reschedule"),
    pytest.param({"type": "staff.attention_needed", "appointment_id": "a"}, None, id="not-an-answer"),
    pytest.param({"type": "appointment.confirmed", "appointment_id": None}, None, id="no-appointment"),
])
def test_which_events_are_answers(record, expected):
    found = Answer.of({**record, "occurred_at": 1, "event_id": "e"})
    assert (found.answer if found else None) == expected


def test_unanswered_row_links_to_its_conversation_escaped():
    odd = Plan("clinic", "a/1", "rid/with space", "BOOKED", at(7, 16), TZ,
               (Reminder("24h", NOW, "sent", None, "m"),), None, NOW)
    row = build([odd], {}, NOW, TZ, Filter()).rows[0]
    assert row.unanswered and row.conversation == "/console/patients/rid%2Fwith%20space/conversation"


def test_unknown_kind_is_shown_as_other():
    row = build([plan("x", at(7, 16), kind="WAITLISTED")], {}, NOW, TZ, Filter()).rows[0]
    assert row.kind == "OTHER"


def test_at_most_a_page_of_rows_and_the_matched_count():
    many = [plan(f"a{i:05d}", at(8, 9) + i) for i in range(SHOWN + 50)]
    board = build(many, {}, NOW, TZ, Filter())
    assert len(board.rows) == SHOWN and board.matched == SHOWN + 50 and board.rows[0].plan.appointment_id == "a00000"


@pytest.mark.parametrize(("now", "hours"), [
    pytest.param(at(7, 10), 24, id="ordinary-day"),
    pytest.param(int(datetime(2026, 3, 8, 12, tzinfo=ZoneInfo("America/New_York")).timestamp() * 1000), 23,
                 id="spring-forward-day-is-23-hours"),
])
def test_day_bounds_are_the_clinic_local_day(now, hours):
    zone = TZ if hours == 24 else "America/New_York"
    start, end = day_bounds(now, zone)
    assert start <= now < end and end - start == hours * 3_600_000


def test_the_view_keeps_each_clinic_in_start_order_through_moves_and_deletes():
    from gateway.console.appointment_views import Plans

    held = Plans()
    for p in (plan("b", at(8, 9)), plan("a", at(9, 9)), plan("c", at(7, 16)), plan("none", None)):
        held.put(p)
    held.put(plan("a", at(7, 11)))  # rescheduled earlier
    held.drop("c")
    held.drop("unknown")
    assert [p.appointment_id for p in held.ordered] == ["none", "a", "b"]
    assert [r.plan.appointment_id for r in build(held.ordered, {}, NOW, TZ, Filter()).rows] == ["a", "b"]
