"""Care journeys end to end on the real broker: an appointment booked on `appointments` -> the worker's
reminder plan and timer -> the reminder reaches the simulator -> the patient answers through the
simulator's signed webhooks -> CareEvents on `appointment.events` / `staff.notifications`.

Time is compressed with short reminder offsets: an appointment 30 s ahead gets reminders 20 s and
8 s before it (10 s and 22 s from booking); quiet hours are off for the demo organization."""
from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from .conftest import wait_ready
from .harness import ORG, Client, Proc, Stack, number, wait_until

START_IN_S = 30
OFFSETS = (20, 8)
CARE = {
    "CARELAY_CARE_REMINDER_OFFSETS_S": ",".join(str(o) for o in OFFSETS),
    "CARELAY_CARE_ORGS": f"{ORG}=America/Mexico_City@00:00-00:00",  # start == end: no quiet hours
}


@pytest.fixture(scope="module")
def care_worker(stack: Stack, client: Client) -> Iterator[Proc]:
    proc = stack.worker("care-worker", CARE)
    wait_ready(proc)
    yield proc
    proc.stop()


def book(client: Client, to: str, start_ms: int) -> str:
    appointment_id = f"appt-{uuid.uuid4().hex[:12]}"
    seal = client.cipher.seal
    rid = client.rid(to)
    client.publish("appointments", rid.encode(), {
        "event_id": str(uuid.uuid4()), "kind": "BOOKED", "appointment_id": appointment_id, "organization_id": ORG,
        "patient_ref": None, "recipient": seal("recipient", to), "recipient_id": rid,
        "recipient_name": seal("recipient_name", "Ana"), "language": "es", "timezone": "America/Mexico_City",
        "clinic": "Clinica Sur", "practitioner": None, "location": None, "start_at": start_ms,
        "previous_start_at": None, "source_status": "booked", "source_version": None,
        "occurred_at": int(time.time() * 1000), "source": "producer", "metadata": {},
    })
    return appointment_id


def reminders(stack: Stack, to: str) -> list[dict[str, Any]]:
    """Reminders the simulator accepted: a template outside the WhatsApp window, an interactive
    message (same words, the same confirm/cancel buttons) inside it, after the patient wrote."""
    return [m for m in stack.sent(to) if m.get("template") == "appointment_reminder"
            or "le recordamos su cita" in (m.get("body") or "")]


def event(records: list[dict[str, Any]], kind: str, rid: str) -> dict[str, Any] | None:
    return next((r for r in records if r["type"] == kind and r["recipient_id"] == rid), None)


def test_reminders_confirm_cancel_and_stop(stack: Stack, client: Client, care_worker: Proc) -> None:
    confirms, cancels, stops = number(), number(), number()
    start = int(time.time() * 1000) + START_IN_S * 1000
    events, staff = client.reader("appointment_events"), client.reader("staff_notifications")
    appts = {to: book(client, to, start) for to in (confirms, cancels, stops)}

    # the first reminder (20 s before the start) reaches each patient, in Spanish, once
    firsts = {}
    for to in (confirms, cancels, stops):
        found = wait_until(lambda to=to: reminders(stack, to), START_IN_S, f"first reminder\n{care_worker.tail()}")
        [first] = found
        assert (first["channel"], first["language"]) == ("WHATSAPP", "es")
        assert time.time() * 1000 < start - 5000  # not the second one
        firsts[to] = first

    # a tap on the confirm button -> appointment.confirmed for that appointment
    _tap(stack, confirms, f"confirm:{firsts[confirms]['message_id']}")
    # "2" answers the open question: a cancellation request, not an opt-out
    stack.patient_says(cancels, "2", provider="meta", channel="WHATSAPP")
    # STOP stops everything
    stack.patient_says(stops, "STOP", provider="meta", channel="WHATSAPP")

    rid_confirm, rid_cancel = client.rid(confirms), client.rid(cancels)
    seen = events.wait(lambda rs: event(rs, "appointment.confirmed", rid_confirm)
                       and event(rs, "appointment.cancel_requested", rid_cancel), 20,
                       f"appointment events\n{care_worker.tail()}")
    confirmed = event(seen, "appointment.confirmed", rid_confirm)
    assert confirmed is not None
    assert (confirmed["appointment_id"], confirmed["message_id"]) == (appts[confirms],
                                                                      firsts[confirms]["message_id"])
    cancelled = event(seen, "appointment.cancel_requested", rid_cancel)
    assert cancelled is not None
    assert (cancelled["appointment_id"], cancelled["message_id"]) == (appts[cancels], firsts[cancels]["message_id"])
    told = staff.wait(lambda rs: event(rs, "staff.attention_needed", rid_cancel), 10, "staff told")
    notice = event(told, "staff.attention_needed", rid_cancel)
    assert notice is not None and notice["reason"] == "cancel_requested"
    assert not event(seen, "appointment.confirmed", client.rid(stops))

    # the second reminder (8 s before the start) goes to the patient who confirmed, and only to them
    outcomes = client.reader("outcomes")
    try:
        wait_until(lambda: len(reminders(stack, confirms)) == 2, START_IN_S, "second reminder")
    except AssertionError:
        mine = [(o["message_id"][:8], o["status"], o.get("reason")) for o in outcomes.poll(1)
                if o["recipient_id"] == rid_confirm]
        raise AssertionError(f"second reminder: {mine}\n{stack.sent(confirms)}") from None
    outcomes.close()
    second = reminders(stack, confirms)[1]
    assert second["message_id"] != firsts[confirms]["message_id"]
    assert "Clinica Sur" in second["body"] and "Ana" in second["body"]  # Spanish, the sealed name opened
    time.sleep(max(0.0, (start - 8000) / 1000 + 3 - time.time()))
    assert len(reminders(stack, cancels)) == 1
    assert len(stack.sent(cancels)) == 1
    assert len(stack.sent(stops)) == 1  # STOP: nothing at all after it
    events.close()
    staff.close()


def _tap(stack: Stack, to: str, payload: str) -> None:
    import httpx

    httpx.post(f"{stack.sim_url}/_sim/inbound", json={"provider": "meta", "from": to, "channel": "WHATSAPP",
                                                      "button_payload": payload}, timeout=10).raise_for_status()
