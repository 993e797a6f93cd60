"""Which plans can send no reminder (a staff notice), and the AppointmentPlan record of a plan."""
from dataclasses import replace

import pytest

from streams.care import plans
from streams.care.schedule import Kind, Planned, SlotState, cancel_all, due, on_event

from .test_schedule import NOW, POLICY, appt, at


def booked(start: int, now: int = NOW, **kw) -> Planned:
    change = on_event(None, appt(start, **kw), POLICY, now)
    assert change.planned is not None
    return change.planned


TOMORROW_3PM = at(2026, 4, 29, 15)
LATE_EVENING = at(2026, 4, 28, 21, 10)
# booked at 21:10 for 08:30 the next morning: 24 h before is this morning (past), 2 h before (06:30) is
# quiet and moves to 20:30 tonight (past too)
QUIET_INTO_PAST = booked(at(2026, 4, 29, 8, 30), LATE_EVENING)
IN_AN_HOUR = booked(NOW + 3_600_000)
FINE = booked(TOMORROW_3PM)
SENT_24H, _ = due(FINE, POLICY, at(2026, 4, 28, 15))


def _late_after(planned: Planned, now: int) -> Planned:
    return due(planned, POLICY, now)[0]


CASES = [
    # (id, before, after, expected newly_impossible)
    ("both_slots_moved_by_quiet_hours_into_the_past", None, QUIET_INTO_PAST, "24h=past,2h=past"),
    ("both_slots_in_the_past", None, IN_AN_HOUR, "24h=past,2h=past"),
    ("both_slots_ahead", None, FINE, None),
    ("one_sent_then_the_next_found_late", SENT_24H, _late_after(SENT_24H, TOMORROW_3PM + 1), None),
    ("every_slot_found_late_by_the_timer", FINE, _late_after(FINE, TOMORROW_3PM + 1), "24h=late,2h=late"),
    ("cancelled_slots_are_a_decision", FINE, cancel_all(FINE), None),
    ("cancelled_appointment", FINE, on_event(FINE, appt(TOMORROW_3PM, Kind.CANCELLED, occurred=2), POLICY,
                                             NOW).planned, None),
    ("opted_out_plan_has_no_slots", None, on_event(None, appt(NOW + 3_600_000), POLICY, NOW,
                                                   opted_out=True).planned, None),
    ("told_once_per_start", IN_AN_HOUR, replace(IN_AN_HOUR, updated_at_ms=5), None),
    ("rescheduled_into_the_past", FINE, on_event(FINE, appt(NOW + 3_600_000, occurred=2), POLICY, NOW).planned,
     "24h=past,2h=past"),
]


@pytest.mark.parametrize(("before", "after", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_plan_that_can_send_no_reminder_is_flagged_once(before: Planned | None, after: Planned,
                                                           expected: str | None) -> None:
    assert plans.newly_impossible(before, after) == expected


def test_the_record_names_each_slot_and_the_message_id_of_those_sent() -> None:
    rec = plans.record(SENT_24H, 7)
    assert plans.key(SENT_24H) == b"clinic-42|apt-1"
    assert [(r["name"], r["state"], r["reason"]) for r in rec["reminders"]] == [
        ("24h", "sent", None), ("2h", "scheduled", None)]
    sent = rec["reminders"][0]["message_id"]
    assert sent == plans.message_id("clinic-42", f"appt:apt-1:24h:{TOMORROW_3PM}")
    assert rec["reminders"][1]["message_id"] is None
    assert (rec["impossible"], rec["updated_at"], rec["kind"]) == (None, 7, "BOOKED")
    skipped = plans.record(IN_AN_HOUR, 7)
    assert [(r["state"], r["reason"]) for r in skipped["reminders"]] == [("skipped", "past"), ("skipped", "past")]
    assert skipped["impossible"] == "24h=past,2h=past"
    assert [s.state for s in cancel_all(FINE).slots] == [SlotState.CANCELLED, SlotState.CANCELLED]
