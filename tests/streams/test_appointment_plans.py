"""Reminder plans on the real broker: the worker publishes each appointment's plan on
`appointment.plans`, the gateway answers GET /v1/appointments/{id} from it, and an appointment that
can get no reminder at all is a `reminder_impossible` staff notice, not silence.

Short reminder offsets (20 s and 8 s before the start) and no quiet hours for the demo organization,
as in test_care_journey."""
from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from .conftest import wait_ready
from .harness import Client, Proc, Stack, number, wait_until
from .test_care_journey import CARE, book

SENDER = {"Authorization": "Bearer demo-clinic-sender-key"}
OTHER = {"Authorization": "Bearer other-clinic-sender-key"}


@pytest.fixture(scope="module")
def plans_worker(stack: Stack, client: Client) -> Iterator[Proc]:
    proc = stack.worker("plans-worker", CARE)
    wait_ready(proc)
    yield proc
    proc.stop()


def plan(stack: Stack, appointment_id: str, headers: dict[str, str] = SENDER) -> httpx.Response:
    return httpx.get(f"{stack.gw_url}/v1/appointments/{appointment_id}", headers=headers, timeout=10)


def plan_when(stack: Stack, appointment_id: str, check: Any, what: str) -> dict[str, Any]:
    def found() -> dict[str, Any] | None:
        r = plan(stack, appointment_id)
        return r.json() if r.status_code == 200 and check(r.json()) else None
    doc: dict[str, Any] = wait_until(found, 30, what, 0.3)
    return doc


def states(doc: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    return [(r["name"], r["state"], r["reason"]) for r in doc["reminders"]]


def test_an_appointment_too_soon_for_any_reminder_tells_staff_and_shows_why(stack: Stack, client: Client,
                                                                            plans_worker: Proc) -> None:
    to = number()
    rid = client.rid(to)
    staff = client.reader("staff_notifications")
    appointment_id = book(client, to, int(time.time() * 1000) + 5000)  # both reminders already past

    told = staff.wait(lambda rs: any(r["recipient_id"] == rid for r in rs), 30,
                      f"staff notice\n{plans_worker.tail()}")
    notice = next(r for r in told if r["recipient_id"] == rid)
    assert (notice["type"], notice["reason"], notice["appointment_id"]) == (
        "staff.attention_needed", "reminder_impossible", appointment_id)
    assert notice["details"] == {"slots": "20s=past,8s=past"}

    doc = plan_when(stack, appointment_id, lambda d: d["reminder_impossible"], "the plan in the gateway")
    assert states(doc) == [("20s", "skipped", "past"), ("8s", "skipped", "past")]
    assert (doc["status"], doc["impossible_reason"]) == ("booked", "20s=past,8s=past")
    assert all(r["message_id"] is None for r in doc["reminders"])
    # another organization's key sees nothing
    other = plan(stack, appointment_id, OTHER)
    assert other.status_code == 404 and other.json()["error"]["field"] == "appointment_id"
    time.sleep(1.0)
    assert [r["reason"] for r in staff.poll(0.5) if r["recipient_id"] == rid] == ["reminder_impossible"]
    staff.close()


def test_the_plan_shows_each_reminder_scheduled_then_sent_with_its_message_id(stack: Stack, client: Client,
                                                                              plans_worker: Proc) -> None:
    to = number()
    start = int(time.time() * 1000) + 25_000
    appointment_id = book(client, to, start)
    doc = plan_when(stack, appointment_id, lambda d: len(d["reminders"]) == 2, "the plan")
    assert states(doc) == [("20s", "scheduled", None), ("8s", "scheduled", None)]
    assert not doc["reminder_impossible"]

    doc = plan_when(stack, appointment_id, lambda d: d["reminders"][0]["state"] == "sent",
                    f"the first reminder sent\n{plans_worker.tail()}")
    first = doc["reminders"][0]["message_id"]
    assert first is not None and doc["reminders"][1]["state"] == "scheduled"
    sent = wait_until(lambda: stack.sent(to), 20, "the reminder at the simulator")
    assert sent[0]["message_id"] == first
    status = httpx.get(f"{stack.gw_url}/v1/messages/{first}", headers=SENDER, timeout=10)
    assert status.status_code == 200


def test_an_unknown_appointment_is_404(stack: Stack, plans_worker: Proc) -> None:
    r = plan(stack, "appt-unknown")
    assert r.status_code == 404 and r.json()["error"]["field"] == "appointment_id"
