"""WhatsApp and SMS through Bird's Channels API on the real broker: channel instances configured for Bird
send to the simulator's Channels API; the signed status events come back through the gateway and the
worker, matched by our reference."""
from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest

from .conftest import wait_ready
from .harness import ORG, Client, Proc, Stack, number
from .test_pipeline import outcome

WA_CHANNEL, SMS_CHANNEL = "wa-demo-bird", "sms-demo-bird"


@pytest.fixture(scope="module")
def bird_worker(stack: Stack, client: Client) -> Iterator[Proc]:
    channels = stack.tmp / "channels-bird.json"
    channels.write_text(json.dumps([
        {"id": "demo-wa-bird", "organization_id": ORG, "channel": "WHATSAPP", "provider": "bird",
         "sender": WA_CHANNEL, "per_second": 50,
         "config": {"templates": {"appointment_reminder:es": {"projectId": "proj-reminder", "version": "v1"}}}},
        {"id": "demo-sms-bird", "organization_id": ORG, "channel": "SMS", "provider": "bird",
         "sender": SMS_CHANNEL, "per_second": 50},
    ]))
    proc = stack.worker("bird-worker", {"CARELAY_CHANNELS_FILE": str(channels)})
    wait_ready(proc)
    yield proc
    proc.stop()


def test_whatsapp_and_sms_go_out_through_bird_and_their_statuses_come_back(stack: Stack, client: Client,
                                                                           bird_worker: Proc) -> None:
    outcomes = client.reader("outcomes")
    wa_to, sms_to = number(), number()
    wa, sms = client.request(wa_to, channels=["WHATSAPP", "SMS"]), client.request(sms_to, channels=["SMS"])
    client.send(wa, sms)
    seen = outcomes.wait(lambda rs: outcome(rs, wa["message_id"], "delivered") and outcome(rs, sms["message_id"],
                                                                                           "delivered"),
                         30, f"bird\n{bird_worker.tail()}")
    assert outcome(seen, wa["message_id"], "delivered")["channel"] == "WHATSAPP"
    assert outcome(seen, sms["message_id"], "delivered")["channel"] == "SMS"
    (wa_sent,) = stack.sent(wa_to)
    (sms_sent,) = stack.sent(sms_to)
    assert (wa_sent["provider"], wa_sent["sender"], wa_sent["kind"], wa_sent["template"]) == (
        "bird", WA_CHANNEL, "template", "proj-reminder")
    assert (sms_sent["provider"], sms_sent["sender"], sms_sent["status"]) == ("bird", SMS_CHANNEL, "delivered")


def test_the_gateway_refuses_a_bird_event_it_cannot_verify(stack: Stack) -> None:
    raw = json.dumps({"service": "channels", "event": "sms.outbound",
                      "payload": {"id": "x", "status": "delivered"}}).encode()
    r = httpx.post(f"{stack.gw_url}/webhooks/bird", content=raw, timeout=10, headers={
        "Content-Type": "application/json", "messagebird-request-timestamp": str(int(time.time())),
        "messagebird-signature": "bm90IHNpZ25lZA=="})
    assert r.status_code == 403
