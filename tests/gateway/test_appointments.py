"""The public shape of an appointment's reminder plan (GET /v1/appointments/{id})."""
from __future__ import annotations

from typing import Any

import pytest

from gateway.appointments import present

PLAN = {
    "organization_id": "clinic-42", "appointment_id": "appt-991", "recipient_id": "7fba02b9", "kind": "BOOKED",
    "start_at": 1_796_688_000_000, "timezone": "America/Mexico_City", "urgent": False,
    "reminders": [
        {"name": "24h", "offset_s": 86400, "due_at": 1_796_601_600_000, "state": "sent", "reason": None,
         "message_id": "m-24h"},
        {"name": "2h", "offset_s": 7200, "due_at": 1_796_680_800_000, "state": "scheduled", "reason": "quiet_hours",
         "message_id": None},
    ],
    "impossible": None, "updated_at": 1_796_601_600_500,
}


def test_a_plan_reads_with_times_in_utc_and_no_recipient() -> None:
    p = present(PLAN)
    assert (p["appointment_id"], p["status"], p["timezone"]) == ("appt-991", "booked", "America/Mexico_City")
    assert (p["start_at"], p["updated_at"]) == ("2026-12-08T00:00:00.000Z", "2026-12-07T00:00:00.500Z")
    assert [(r["name"], r["due_at"], r["state"], r["reason"], r["message_id"]) for r in p["reminders"]] == [
        ("24h", "2026-12-07T00:00:00.000Z", "sent", None, "m-24h"),
        ("2h", "2026-12-07T22:00:00.000Z", "scheduled", "quiet_hours", None)]
    assert "recipient_id" not in p and "organization_id" not in p and "urgent" not in p


@pytest.mark.parametrize(("changes", "shown"), [
    pytest.param({}, ("booked", "2026-12-08T00:00:00.000Z", False, None), id="booked"),
    pytest.param({"kind": "RESCHEDULED"}, ("rescheduled", "2026-12-08T00:00:00.000Z", False, None),
                 id="rescheduled"),
    pytest.param({"kind": "CANCELLED", "start_at": None}, ("cancelled", None, False, None),
                 id="cancelled-without-a-start"),
    pytest.param({"impossible": "too_late", "reminders": []}, ("booked", "2026-12-08T00:00:00.000Z", True, "too_late"),
                 id="no-reminder-can-be-sent"),
])
def test_status_start_and_impossible(changes: dict[str, Any], shown: tuple[str, str | None, bool, str | None]) -> None:
    p = present({**PLAN, **changes})
    assert (p["status"], p["start_at"], p["reminder_impossible"], p["impossible_reason"]) == shown
