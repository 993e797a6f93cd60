"""A patient's conversation end to end on the real broker: answers to reminders sent through the API
(no reminder plan) are acknowledged, opt-out and opt-in are confirmed once per change, and a
conversation the loop guard paused reaches staff until someone resumes it."""
from __future__ import annotations

import time
import uuid
from typing import Any

import httpx

from schemas.settings import TwilioSettings

from .harness import Client, Proc, Stack, number, wait_until

SMS_FROM = TwilioSettings().sms_from


def reminder(client: Client, to: str, channels: tuple[str, ...]) -> dict[str, Any]:
    """An appointment_reminder as an API caller or producer sends it: its own date and time, an appointment id."""
    req = client.request(to, channels=channels)
    req["appointment_id"] = f"appt-{uuid.uuid4().hex[:10]}"
    return req


def with_words(stack: Stack, to: str, words: str) -> list[dict[str, Any]]:
    return [m for m in stack.sent(to) if words in (m.get("body") or "")]


def test_answers_to_an_api_reminder_are_acknowledged(stack: Stack, client: Client, worker: Proc) -> None:
    confirms, cancels = number(), number()
    sms, wa = reminder(client, confirms, ("SMS",)), reminder(client, cancels, ("WHATSAPP",))
    client.send(sms, wa)
    wait_until(lambda: stack.sent(confirms) and stack.sent(cancels), 20, f"reminders\n{worker.tail()}")
    stack.patient_says(confirms, "SI", to=SMS_FROM)
    httpx.post(f"{stack.sim_url}/_sim/inbound", json={"provider": "meta", "from": cancels, "channel": "WHATSAPP",
                                                      "button_payload": f"cancel:{wa['message_id']}"},
               timeout=10).raise_for_status()
    # the reminder's own date and time (3/4, 10:00), in its language, on the channel the answer came in
    [ack] = wait_until(lambda: with_words(stack, confirms, "Gracias, su cita del 3/4 a las 10:00 queda confirmada."),
                       20, f"confirmation acknowledged\n{worker.tail()}")
    assert ack["channel"] == "SMS"
    [ack] = wait_until(lambda: with_words(stack, cancels, "solicitud de cancelar la cita del 3/4 a las 10:00"),
                       20, f"cancellation acknowledged\n{worker.tail()}")
    assert ack["channel"] == "WHATSAPP"
    time.sleep(1)
    assert len(stack.sent(confirms)) == len(stack.sent(cancels)) == 2
