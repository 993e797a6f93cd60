"""A patient's conversation end to end on the real broker: answers to reminders sent through the API
(no reminder plan) are acknowledged, opt-out and opt-in are confirmed once per change, and a
conversation the loop guard paused reaches staff until someone resumes it."""
from __future__ import annotations

import time
import uuid
from typing import Any

import httpx

from schemas.phi import binding_of
from schemas.settings import TwilioSettings

from .harness import Client, Proc, Stack, bot_until_paused, number, wait_until

SMS_FROM = TwilioSettings().sms_from
ADMIN = {"X-API-Key": "demo-clinic-admin-key"}


def notice(records: list[dict[str, Any]], rid: str, reason: str) -> dict[str, Any] | None:
    return next((r for r in records if r["recipient_id"] == rid and r["reason"] == reason), None)


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


def test_a_paused_conversation_reaches_staff_until_it_is_resumed(stack: Stack, client: Client, worker: Proc) -> None:
    to = number()
    rid = client.rid(to)
    staff, audit = client.reader("staff_notifications"), client.reader("audit")
    answered, alerts = bot_until_paused(stack, client, to, "HELP", to_address=SMS_FROM)
    assert alerts, f"never paused\n{worker.tail()}"

    # staff are told at once, and why; the patient's words only sealed, never the number
    seen = staff.wait(lambda rs: notice(rs, rid, "loop_paused"), 10, f"loop_paused notice\n{worker.tail()}")
    paused = notice(seen, rid, "loop_paused")
    assert paused is not None and paused["type"] == "staff.attention_needed"
    assert paused["details"]["cause"] == alerts[0]["reason"]
    assert int(paused["details"]["paused_until"]) > time.time() * 1000
    assert to not in repr(paused) and to[1:] not in repr(paused)

    # a person writing on the paused conversation: no automated answer, but staff get every message
    stack.patient_says(to, "necesito ayuda", to=SMS_FROM)
    seen = staff.wait(lambda rs: notice(rs, rid, "message_while_paused"), 20, f"message on a paused conversation\n"
                                                                               f"{worker.tail()}")
    later = notice(seen, rid, "message_while_paused")
    assert later is not None
    assert client.cipher.open("text", later["text"], binding_of("CareEvent", later)) == "necesito ayuda"
    assert "necesito" not in repr(later) and later["channel"] == "SMS"
    time.sleep(1)
    assert len(stack.sent(to)) == answered

    # an admin resumes it; the worker owning the patient applies it and audits what it did
    r = httpx.post(f"{stack.gw_url}/v1/conversations/{rid}:resume", headers=ADMIN, timeout=10)
    assert r.status_code == 202, r.text
    done = audit.wait(lambda rs: any(a["action"] == "conversation.resumed" and a["resource"] == rid for a in rs),
                      20, f"resume applied\n{worker.tail()}")
    [applied] = [a for a in done if a["action"] == "conversation.resumed" and a["resource"] == rid]
    assert (applied["outcome"], applied["reason"], applied["details"]["command_id"]) == (
        "allowed", "resumed", r.json()["command_id"])
    stack.patient_says(to, "AYUDA", to=SMS_FROM)
    wait_until(lambda: len(stack.sent(to)) == answered + 1, 20, f"the answer after the resume\n{worker.tail()}")
    staff.close()
    audit.close()


OPTED_OUT_EN = "You will receive no more messages. Reply START to resubscribe."
OPTED_IN_EN = "You will receive appointment messages again. Reply STOP to unsubscribe."
OPTED_OUT_ES = "No recibira mas mensajes. Responda ALTA para volver a recibirlos."


def test_opt_out_and_opt_in_are_confirmed_once_per_change(stack: Stack, client: Client, worker: Proc) -> None:
    wa, sms = number(), number()
    # STOP on WhatsApp: one confirmation there, though the patient just opted out of every channel
    stack.patient_says(wa, "STOP", provider="meta", channel="WHATSAPP")
    [told] = wait_until(lambda: with_words(stack, wa, OPTED_OUT_EN), 20, f"opt-out confirmed\n{worker.tail()}")
    assert told["channel"] == "WHATSAPP"
    # BAJA on SMS (a word Twilio does not answer itself): confirmed on SMS, in Spanish
    stack.patient_says(sms, "BAJA", to=SMS_FROM)
    [told] = wait_until(lambda: with_words(stack, sms, OPTED_OUT_ES), 20, f"BAJA confirmed\n{worker.tail()}")
    assert told["channel"] == "SMS"
    # a second STOP changes nothing and sends nothing; START does, once
    stack.patient_says(wa, "STOP", provider="meta", channel="WHATSAPP")
    stack.patient_says(wa, "START", provider="meta", channel="WHATSAPP")
    wait_until(lambda: with_words(stack, wa, OPTED_IN_EN), 20, f"opt-in confirmed\n{worker.tail()}")
    stack.patient_says(wa, "START", provider="meta", channel="WHATSAPP")
    time.sleep(2)
    assert [m["body"] for m in stack.sent(wa)] == [OPTED_OUT_EN, OPTED_IN_EN]
    assert [m["body"] for m in stack.sent(sms)] == [OPTED_OUT_ES]
