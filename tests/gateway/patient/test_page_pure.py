"""What the patient page shows, as tables: which appointments, the reminder a button answers."""
from __future__ import annotations

import pytest

from gateway.console.appointments import Answer, Plan, Reminder
from gateway.patient import page

NOW = 1_800_000_000_000
H = 3_600_000


def plan(appt: str, start: int | None, *, rid: str = "rid", kind: str = "BOOKED",
         reminders: tuple[Reminder, ...] = ()) -> Plan:
    return Plan("clinic", appt, rid, kind, start, "America/Mexico_City", reminders, None, NOW)


SENT_24 = Reminder("24h", NOW - 2 * H, "sent", None, "m-24")
SENT_2 = Reminder("2h", NOW - H, "sent", None, "m-2")
LATER = Reminder("90m", NOW + H, "scheduled", None, None)


@pytest.mark.parametrize(("plans", "shown"), [
    pytest.param([plan("a", NOW + H)], [("a", None)], id="upcoming-no-reminder-yet"),
    pytest.param([plan("a", NOW - 1)], [], id="past"),
    pytest.param([plan("a", None)], [], id="no-start"),
    pytest.param([plan("a", NOW + H, kind="CANCELLED")], [], id="cancelled"),
    pytest.param([plan("a", NOW + H, rid="other")], [], id="another-patient"),
    pytest.param([plan("a", NOW + H, reminders=(SENT_24, SENT_2, LATER))], [("a", "m-2")],
                 id="the-newest-sent-reminder-is-the-question"),
    pytest.param([plan("b", NOW + 2 * H), plan("a", NOW + H)], [("a", None), ("b", None)], id="soonest-first"),
])
def test_upcoming(plans: list[Plan], shown: list[tuple[str, str | None]]) -> None:
    assert [(a.appointment_id, a.question) for a in page.upcoming(plans, {}, "rid", NOW)] == shown


def test_an_answer_is_shown_and_buttons_answer_only_shown_reminders() -> None:
    shown = page.upcoming([plan("a", NOW + H, reminders=(SENT_24,))],
                          {"a": Answer("confirmed", NOW, "e1")}, "rid", NOW)
    assert shown[0].answer == "confirmed" and shown[0].when == "2027-01-15 03:00"
    assert page.answerable(shown, "m-24") and not page.answerable(shown, "someone-elses")


@pytest.mark.parametrize(("text", "error"), [
    pytest.param("Hola", None, id="words"),
    pytest.param("   ", "error_empty", id="blank"),
    pytest.param("x" * 1000, None, id="at-the-limit"),
    pytest.param("x" * 1001, "error_long", id="too-long"),
])
def test_reply_error(text: str, error: str | None) -> None:
    assert page.reply_error(text) == error


def test_an_answer_enters_as_a_button_on_the_inapp_channel() -> None:
    rec = page.inbound_record(event_id="page:1", provider="app", organization_id="clinic", recipient_id="rid",
                              sender={"s": 1}, text=None, payload="confirm:m-2", now_ms=NOW)
    assert (rec["channel"], rec["provider"], rec["kind"], rec["payload"]) == ("INAPP", "app", "BUTTON", "confirm:m-2")
