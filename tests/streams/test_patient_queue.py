"""One patient, one queue on the real broker: sends leave in the order accepted through rate-limit
holds, a held message expires at its expires_at, quiet hours hold every non-urgent send, and the
gateway shows what waits and why.

The worker reads the wall clock, so time is compressed instead of controlled: the SMS sender is
limited to one send every 4 s per partition, a patient to five sends a day, and the organization's
quiet hours are set to the two hours around now (sends that must go at once name a zone twelve
hours away)."""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from .conftest import wait_ready
from .harness import Client, Proc, Stack, number, wait_until

SMS_EVERY_S = 4
ORG_ZONE = "America/Mexico_City"
DAY_ZONE = "Etc/GMT-6"  # UTC+6: twelve hours from the organization's zone, outside its quiet hours
SENDER = {"Authorization": "Bearer demo-clinic-sender-key"}


def quiet_around_now() -> str:
    t = datetime.now(ZoneInfo(ORG_ZONE))
    m = t.hour * 60 + t.minute
    start, end = (m - 60) % 1440, (m + 60) % 1440
    return f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}"


@pytest.fixture(scope="module")
def queue_worker(stack: Stack, client: Client) -> Iterator[Proc]:
    parts = client.settings.kafka.partitions
    proc = stack.worker("queue-worker", {
        "CARELAY_TWILIO_SMS_PER_SECOND": str(parts / SMS_EVERY_S),  # one SMS per 4 s on each partition
        # five a day per patient (the sixth waits hours), with no hourly cap below that
        "CARELAY_RETRY_MAX_TRIES": "10",  # a send retried through a provider outage of a few seconds
        "CARELAY_BREAKER_FAILURES": "1000",  # ... without opening the circuit (the session's circuit topic)
        "CARELAY_LIMIT_RECIPIENT_HOUR": "10", "CARELAY_LIMIT_RECIPIENT_DAY": "5",
        "CARELAY_CARE_TIMEZONE": ORG_ZONE,
        "CARELAY_CARE_QUIET_HOURS": quiet_around_now(),
    })
    wait_ready(proc)
    yield proc
    proc.stop()


def req(client: Client, to: str, channel: str, **extra: Any) -> dict[str, Any]:
    r = client.request(to, channels=(channel,))
    r.update({"timezone": DAY_ZONE, **extra})
    return r


def shown(stack: Stack, message_id: str) -> dict[str, Any] | None:
    r = httpx.get(f"{stack.gw_url}/v1/messages/{message_id}", headers=SENDER, timeout=10)
    return dict(r.json()) if r.status_code == 200 else None


def wait_shown(stack: Stack, message_id: str, *status: str, timeout: float = 20) -> dict[str, Any]:
    return wait_until(lambda: (d := shown(stack, message_id)) is not None and d["status"] in status and d,
                      timeout, f"{message_id} {status}")


def test_five_sends_leave_in_the_order_accepted_through_rate_limit_holds(
        stack: Stack, client: Client, queue_worker: Proc) -> None:
    """SMS, WhatsApp, SMS, WhatsApp, SMS 0.3 s apart: the third waits for the SMS sender; the fourth
    (WhatsApp, its own sender free) and the fifth wait behind it."""
    to = number()
    sends = [req(client, to, ch) for ch in ("SMS", "WHATSAPP", "SMS", "WHATSAPP", "SMS")]
    for r in sends:
        client.send(r)
        time.sleep(0.3)
    # held by the SMS sender's limit, or (on a slow machine) behind the second, not yet with Meta
    third = wait_shown(stack, sends[2]["message_id"], "held")
    assert third["reason"] in ("rate_limited", "queued") and third["next_attempt_at"] is not None
    fourth = wait_shown(stack, sends[3]["message_id"], "held")
    assert fourth["reason"] in ("rate_limited", "queued")  # behind the third
    try:
        sent = wait_until(lambda: len(got := stack.sent(to)) == 5 and got, 60, "five sends")
    except AssertionError:
        states = [(d or {}).get("status") for d in (shown(stack, r["message_id"]) for r in sends)]
        raise AssertionError(f"not all five sent; their states: {states}") from None
    order = [m["message_id"] for m in sorted(sent, key=lambda m: m["created_at"])]
    assert order == [r["message_id"] for r in sends]
    assert wait_shown(stack, sends[4]["message_id"], "delivered", timeout=30)["reason"] is None


def test_a_message_held_by_the_cap_expires_at_its_expires_at(stack: Stack, client: Client,
                                                            queue_worker: Proc) -> None:
    to = number()
    first = [req(client, to, "WHATSAPP") for _ in range(5)]
    client.send(*first)
    wait_until(lambda: len(stack.sent(to)) == 5, 30, "five sends within the daily cap")
    expires = int(time.time() * 1000) + 4000
    sixth = req(client, to, "WHATSAPP", expires_at=expires)
    client.send(sixth)
    held = wait_shown(stack, sixth["message_id"], "held")
    assert held["reason"] == "rate_limited"
    assert datetime.fromisoformat(held["next_attempt_at"]).timestamp() * 1000 == expires  # not hours later
    done = wait_shown(stack, sixth["message_id"], "expired", timeout=20)
    assert done["is_final"] and len(stack.sent(to)) == 5


def test_quiet_hours_hold_a_plain_send_in_the_patients_zone_and_not_urgent_ones(
        stack: Stack, client: Client, queue_worker: Proc) -> None:
    to = number()
    night = req(client, to, "SMS", timezone=None)
    day = req(client, number(), "WHATSAPP")  # the patient's zone is daytime
    urgent = client.request(to, channels=("WHATSAPP",), priority="URGENT", template="urgent_notice",
                            params={"clinic": "Clinica Sur", "notice": "cerrado hoy"})
    client.send(night, day, urgent)
    held = wait_shown(stack, night["message_id"], "held")
    assert held["reason"] == "quiet_hours" and held["next_attempt_at"] is not None
    ends = datetime.fromisoformat(held["next_attempt_at"]).timestamp()
    assert 50 * 60 < ends - time.time() < 61 * 60
    wait_shown(stack, urgent["message_id"], "delivered", "read", timeout=30)
    wait_shown(stack, day["message_id"], "delivered", "read", timeout=30)
    assert [m["message_id"] for m in stack.sent(to)] == [urgent["message_id"]]


def test_a_later_send_waits_for_an_earlier_one_being_retried(stack: Stack, client: Client, queue_worker: Proc,
                                                              scenario: Callable[[dict], None]) -> None:
    """WhatsApp (Meta) is out for 3 s: the first send is retried until Meta takes it; the second, by
    SMS (Twilio, up all along) 0.3 s later, leaves after it."""
    to = number()
    scenario({"outage": {"provider": "meta", "seconds": 3, "http_status": 500, "code": 131000}})
    first, second = req(client, to, "WHATSAPP"), req(client, to, "SMS")
    client.send(first)
    time.sleep(0.3)
    client.send(second)
    sent = wait_until(lambda: len(got := stack.sent(to)) == 2 and got, 60, f"both sends\n{queue_worker.tail()}")
    order = [m["message_id"] for m in sorted(sent, key=lambda m: m["created_at"])]
    assert order == [first["message_id"], second["message_id"]]
    history = [h["status"] for h in (shown(stack, second["message_id"]) or {}).get("history", [])]
    assert "held" in history  # it waited, and said why


def test_the_order_holds_through_a_restart(stack: Stack, client: Client, queue_worker: Proc) -> None:
    """The same five sends; the worker stops while three of them wait and a successor takes over:
    the queue comes back from the patients changelog, the waiting requests from the delay topics,
    all of them due by then and read back in whatever order the delay topics give."""
    to = number()
    sends = [req(client, to, ch) for ch in ("SMS", "WHATSAPP", "SMS", "WHATSAPP", "SMS")]
    for r in sends:
        client.send(r)
        time.sleep(0.3)
    wait_shown(stack, sends[4]["message_id"], "held")
    queue_worker.stop()
    assert len(stack.sent(to)) < 5
    successor = stack.worker("queue-worker-2", queue_worker.env)
    try:
        wait_ready(successor)
        sent = wait_until(lambda: len(got := stack.sent(to)) == 5 and got, 90, f"five sends\n{successor.tail()}")
        order = [m["message_id"] for m in sorted(sent, key=lambda m: m["created_at"])]
        assert order == [r["message_id"] for r in sends]
    finally:
        successor.stop()
