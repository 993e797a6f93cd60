"""The urgent lane end to end on the real broker: urgent notices sent through the gateway's API, the
worker, the provider simulator. A notice delivered on WhatsApp but never read is followed by exactly
one voice call once `CARELAY_CARE_URGENT_VOICE_AFTER_S` (shortened to seconds here) passes; a notice
that fails on every channel is handed to staff on `staff.notifications` (reason `urgent_failed`)."""
from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from .conftest import wait_ready
from .harness import Client, Proc, Stack, number, wait_until

VOICE_AFTER_S = 4
SENDER = {"Authorization": "Bearer demo-clinic-sender-key"}


@pytest.fixture(scope="module")
def urgent_worker(stack: Stack, client: Client) -> Iterator[Proc]:
    proc = stack.worker("urgent-worker", {"CARELAY_CARE_URGENT_VOICE_AFTER_S": str(VOICE_AFTER_S)})
    wait_ready(proc)
    yield proc
    proc.stop()


def send_urgent(stack: Stack, to: str) -> str:
    body = {"to": to, "channels": ["WHATSAPP", "SMS", "VOICE"], "priority": "urgent",
            "template": {"name": "urgent_notice", "language": "es",
                         "params": {"clinic": "Clinica Sur", "notice": "Su cirugia de manana fue cancelada"}}}
    r = httpx.post(f"{stack.gw_url}/v1/messages", json=body, timeout=30,
                   headers={**SENDER, "Idempotency-Key": f"urgent-{to}"})
    assert r.status_code == 202, r.text
    return str(r.json()["message_id"])


def get_state(stack: Stack, message_id: str) -> dict[str, Any]:
    r = httpx.get(f"{stack.gw_url}/v1/messages/{message_id}", headers=SENDER, timeout=30)
    assert r.status_code == 200, r.text
    return dict(r.json())


def on(stack: Stack, message_id: str, channel: str) -> list[dict[str, Any]]:
    return [m for m in stack.sent(message_id=message_id) if m["channel"] == channel]


def test_an_urgent_notice_delivered_but_unread_is_followed_by_one_call(
        stack: Stack, client: Client, urgent_worker: Proc, scenario) -> None:
    to = number("4401")
    scenario({"rules": [{"channel": "WHATSAPP", "to": "4401$", "callbacks": {"read": False}}]})
    outcomes = client.reader("outcomes")
    message_id = send_urgent(stack, to)

    delivered = wait_until(lambda: [m for m in on(stack, message_id, "WHATSAPP") if m["status"] == "delivered"],
                           60, f"the WhatsApp notice delivered\n{urgent_worker.tail()}", 0.2)
    delivered_at = time.monotonic()
    # delivered, but the call may still follow: not final (GET shows the workers' state)
    state = wait_until(lambda: [d for d in [get_state(stack, message_id)] if d["status"] == "delivered"],
                       VOICE_AFTER_S, f"the delivered state\n{urgent_worker.tail()}", 0.1)[0]
    assert state["is_final"] is False and state["error_code"] is None
    calls = wait_until(lambda: on(stack, message_id, "VOICE"), 60 + VOICE_AFTER_S,
                       f"a voice call\n{urgent_worker.tail()}", 0.2)
    waited = time.monotonic() - delivered_at
    assert waited >= VOICE_AFTER_S - 1, f"called {waited:.1f}s after delivery, before the time to read"
    assert calls[0]["to"] == to and calls[0]["provider"] == "twilio"
    # the reconciler's own hop: hop 1, for the unread notice, routed once
    def routed_calls(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [r for r in records if r["message_id"] == message_id and r["status"] == "routed"
                and r["channel"] == "VOICE"]

    calls_routed = routed_calls(outcomes.wait(routed_calls, 30, "the call's routed outcome"))
    assert {(r["hop"], r["reason"]) for r in calls_routed} == {(1, "urgent_unread")}
    # exactly one call, one WhatsApp message, no SMS, also after more timer ticks and sweeps
    time.sleep(VOICE_AFTER_S + 4)
    assert len(on(stack, message_id, "VOICE")) == 1
    assert len(on(stack, message_id, "WHATSAPP")) == 1 and delivered[0]["sid"] == on(stack, message_id,
                                                                                      "WHATSAPP")[0]["sid"]
    assert on(stack, message_id, "SMS") == []
    final = [r for r in outcomes.poll() if r["message_id"] == message_id]
    assert {(r["hop"], r["status"]) for r in final if r["hop"] == 1} >= {(1, "routed"), (1, "delivered")}
    assert "read" not in {r["status"] for r in final}
    # the WhatsApp delivery was not the end; the answered call is, and the notice stays delivered
    assert {(r["hop"], r["is_final"]) for r in final if r["status"] == "delivered"} == {(0, False), (1, True)}
    ended = get_state(stack, message_id)
    assert (ended["status"], ended["is_final"], ended["error_code"]) == ("delivered", True, None)
    outcomes.close()


def test_an_urgent_notice_read_in_time_is_not_called(stack: Stack, urgent_worker: Proc, scenario) -> None:
    to = number("4403")
    message_id = send_urgent(stack, to)
    wait_until(lambda: [m for m in on(stack, message_id, "WHATSAPP") if m["status"] == "read"], 60,
               f"the WhatsApp notice read\n{urgent_worker.tail()}", 0.2)
    time.sleep(VOICE_AFTER_S + 3)
    assert on(stack, message_id, "VOICE") == [] and on(stack, message_id, "SMS") == []


def test_an_urgent_notice_failing_on_every_channel_goes_to_staff(
        stack: Stack, client: Client, urgent_worker: Proc, scenario) -> None:
    to = number("4402")
    scenario({"rules": [{"channel": "WHATSAPP", "to": "4402$", "code": 131026},
                        {"channel": "SMS", "to": "4402$", "code": 30006},
                        {"channel": "VOICE", "to": "4402$", "call_status": "no-answer"}]})
    staff = client.reader("staff_notifications")
    message_id = send_urgent(stack, to)

    def notices(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [r for r in records if r["message_id"] == message_id]

    found = notices(staff.wait(lambda rs: notices(rs), 90, f"a staff notification\n{urgent_worker.tail()}"))
    assert [(r["type"], r["reason"]) for r in found] == [("staff.attention_needed", "urgent_failed")]
    notice = found[0]
    assert notice["recipient_id"] == client.rid(to) and notice["organization_id"] == "demo-clinic"
    assert notice["channel"] == "VOICE" and notice["details"]["channels_tried"] == "WHATSAPP,SMS,VOICE"
    assert notice["text"] is None and to not in str(notice)  # ids and codes only
    assert {m["channel"] for m in stack.sent(message_id=message_id)} == {"WHATSAPP", "SMS", "VOICE"}
    time.sleep(3)  # sweeps and timer ticks add nothing
    assert len(notices(staff.poll())) == 1
    staff.close()
