from datetime import datetime
from zoneinfo import ZoneInfo

from streams.care.clock import HOUR_MS, MINUTE_MS, QuietHours
from streams.care.schedule import (
    QUIET_MARGIN_MS,
    Appointment,
    Kind,
    SchedulePolicy,
    SlotState,
    cancel_all,
    due,
    on_event,
    plan,
)

MX = ZoneInfo("America/Mexico_City")
POLICY = SchedulePolicy(timezone="America/Mexico_City", quiet=QuietHours(21 * 60, 8 * 60))


def at(y, mo, d, h, mi=0, tz=MX) -> int:
    return int(datetime(y, mo, d, h, mi, tzinfo=tz).timestamp() * 1000)


def appt(start, kind=Kind.BOOKED, occurred=1, **kw) -> Appointment:
    return Appointment("apt-1", "clinic-42", "rid-1", kind, start, occurred, **kw)


NOW = at(2026, 4, 28, 12)


def test_default_offsets_24h_and_2h_before():
    slots = plan(appt(at(2026, 5, 1, 15)), POLICY, NOW)
    assert [(s.name, s.due_at_ms, s.state) for s in slots] == [
        ("24h", at(2026, 4, 30, 15), SlotState.PENDING), ("2h", at(2026, 5, 1, 13), SlotState.PENDING)]


def test_a_reminder_in_quiet_hours_moves_earlier_to_before_the_quiet_period():
    # 09:00 appointment: the 2 h reminder (07:00) is quiet -> the evening before, 30 min before 21:00
    slots = plan(appt(at(2026, 5, 1, 9)), POLICY, NOW)
    two = slots[1]
    assert two.due_at_ms == at(2026, 4, 30, 21) - QUIET_MARGIN_MS and two.reason == "quiet_hours"
    # 23:30 appointment: 24 h before is 23:30 the day before, quiet since 21:00 that same evening
    slots = plan(appt(at(2026, 5, 1, 23, 30)), POLICY, NOW)
    assert slots[0].due_at_ms == at(2026, 4, 30, 20, 30)
    assert slots[1].due_at_ms == at(2026, 5, 1, 20, 30)  # 21:30 is quiet too


def test_quiet_hours_are_the_patients_local_time():
    start = at(2026, 5, 1, 15, tz=ZoneInfo("Europe/Lisbon"))  # 15:00 in Lisbon is 08:00 in Mexico City
    slots = plan(appt(start, timezone="Europe/Lisbon"), POLICY, NOW)
    assert all(s.reason is None for s in slots)
    slots = plan(appt(start), POLICY, NOW)  # the org default (Mexico City): 2 h before is 06:00 there: quiet
    assert slots[1].reason == "quiet_hours"


def test_urgent_ignores_quiet_hours():
    slots = plan(appt(at(2026, 5, 1, 9), urgent=True), POLICY, NOW)
    assert slots[1].due_at_ms == at(2026, 5, 1, 7) and slots[1].reason is None


def test_past_reminders_are_skipped_not_sent_late():
    now = at(2026, 5, 1, 10)
    slots = plan(appt(at(2026, 5, 1, 15)), POLICY, now)
    assert (slots[0].state, slots[0].reason) == (SlotState.SKIPPED, "past")
    assert slots[1].state is SlotState.PENDING


def test_reminders_moved_into_the_same_hour_collapse():
    # offsets 3 h and 2 h before a 07:00 appointment both move to 20:30 the evening before
    policy = SchedulePolicy("America/Mexico_City", QuietHours(21 * 60, 8 * 60), (3 * 3600, 2 * 3600))
    slots = plan(appt(at(2026, 5, 1, 7)), policy, NOW)
    assert [s.state for s in slots] == [SlotState.PENDING, SlotState.SKIPPED] and slots[1].reason == "collapsed"


def test_due_returns_plain_data_and_marks_sent_once():
    change = on_event(None, appt(at(2026, 5, 1, 15), language="es", clinic="Clinica Norte"), POLICY, NOW)
    planned = change.planned
    assert planned is not None and planned.next_due_ms() == at(2026, 4, 30, 15)
    planned, out = due(planned, POLICY, at(2026, 4, 30, 14, 59))
    assert out == ()
    planned, out = due(planned, POLICY, at(2026, 4, 30, 15, 1))
    [d] = out
    assert (d.template, d.language, d.offset_name, d.appointment_id) == ("appointment_reminder", "es", "24h", "apt-1")
    assert dict(d.params) == {"clinic": "Clinica Norte", "date": "1 de mayo", "time": "15:00"}
    assert d.idempotency_key == f"appt:apt-1:24h:{at(2026, 5, 1, 15)}"
    planned, again = due(planned, POLICY, at(2026, 4, 30, 15, 2))
    assert again == ()
    assert planned.next_due_ms() == at(2026, 5, 1, 13)


def test_languages_format_the_date_their_way():
    for lang, date, time in (("en", "May 1", "3:00 PM"), ("pt", "1 de maio", "15:00")):
        planned = on_event(None, appt(at(2026, 5, 1, 15), language=lang), POLICY, NOW).planned
        _, [d] = due(planned, POLICY, at(2026, 4, 30, 15))
        assert dict(d.params)["date"] == date and dict(d.params)["time"] == time
        assert dict(d.params)["clinic"] in ("your clinic", "sua clínica")


def test_reschedule_is_derived_from_the_start_held_and_moves_pending_reminders():
    planned = on_event(None, appt(at(2026, 5, 1, 15)), POLICY, NOW).planned
    # the writer calls it BOOKED again, but the start moved: the streams decide it is a reschedule
    change = on_event(planned, appt(at(2026, 5, 3, 11), Kind.BOOKED, occurred=2), POLICY, NOW + MINUTE_MS)
    assert change.rescheduled_from_ms == at(2026, 5, 1, 15) and change.planned.kind is Kind.RESCHEDULED
    assert change.cancelled == ("24h", "2h")
    assert [s.due_at_ms for s in change.planned.pending()] == [at(2026, 5, 2, 11), at(2026, 5, 3, 9)]
    assert change.notify is not None and change.notify.template == "appointment_rescheduled"
    assert dict(change.notify.params)["date"] == "3 de mayo"


def test_same_start_again_changes_nothing_and_stale_events_are_ignored():
    planned = on_event(None, appt(at(2026, 5, 1, 15), occurred=5), POLICY, NOW).planned
    assert on_event(planned, appt(at(2026, 5, 1, 15), occurred=6), POLICY, NOW).ignored == "unchanged"
    stale = on_event(planned, appt(None, Kind.CANCELLED, occurred=4), POLICY, NOW)
    assert stale.ignored == "stale" and stale.planned == planned


def test_cancel_and_noshow_cancel_pending_reminders():
    planned = on_event(None, appt(at(2026, 5, 1, 15)), POLICY, NOW).planned
    change = on_event(planned, appt(None, Kind.CANCELLED, occurred=2), POLICY, NOW)
    assert change.cancelled == ("24h", "2h") and change.planned.pending() == ()
    assert change.planned.start_at_ms == at(2026, 5, 1, 15)  # kept: the cancellation message names it
    _, out = due(change.planned, POLICY, at(2026, 5, 1, 14))
    assert out == ()


def test_rebooked_after_cancel_does_not_repeat_a_sent_reminder():
    planned = on_event(None, appt(at(2026, 5, 1, 15)), POLICY, NOW).planned
    planned, _ = due(planned, POLICY, at(2026, 4, 30, 15))
    cancelled = on_event(planned, appt(None, Kind.CANCELLED, occurred=2), POLICY, at(2026, 4, 30, 16)).planned
    rebooked = on_event(cancelled, appt(at(2026, 5, 1, 15), occurred=3), POLICY, at(2026, 4, 30, 16)).planned
    assert [s.state for s in rebooked.slots] == [SlotState.SKIPPED, SlotState.PENDING]


def test_opt_out_cancels_and_a_booking_while_opted_out_plans_nothing():
    planned = on_event(None, appt(at(2026, 5, 1, 15)), POLICY, NOW).planned
    assert cancel_all(planned).pending() == ()
    assert on_event(None, appt(at(2026, 5, 1, 15)), POLICY, NOW, opted_out=True).planned.pending() == ()


def test_a_slot_found_due_late_in_quiet_hours_waits_or_is_skipped():
    planned = on_event(None, appt(at(2026, 5, 1, 15)), POLICY, NOW).planned
    # the worker was down from 15:00 to 22:00: the 24 h reminder waits for 08:00 (still before 15:00)
    planned, out = due(planned, POLICY, at(2026, 4, 30, 22))
    assert out == () and planned.slots[0].due_at_ms == at(2026, 5, 1, 8)
    planned, out = due(planned, POLICY, at(2026, 5, 1, 8))
    assert [d.offset_name for d in out] == ["24h"]
    # after the start: skipped
    planned, out = due(planned, POLICY, at(2026, 5, 1, 15, 5))
    assert out == () and planned.slots[1].reason == "late"


def test_dst_gap_is_handled():
    # Lisbon skips 01:00-02:00 on 2026-03-29; a 02:30 appointment's 2 h reminder is 00:30 local (quiet)
    lisbon = SchedulePolicy("Europe/Lisbon", QuietHours(21 * 60, 8 * 60))
    start = at(2026, 3, 29, 3, 30, tz=ZoneInfo("Europe/Lisbon"))
    slots = plan(appt(start, timezone="Europe/Lisbon"), lisbon, at(2026, 3, 1, 0))
    assert slots[1].due_at_ms == at(2026, 3, 28, 20, 30, tz=ZoneInfo("Europe/Lisbon"))
    assert slots[0].due_at_ms < slots[1].due_at_ms - HOUR_MS
