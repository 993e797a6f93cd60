"""SMS through Amazon SNS on the real broker: a channel instance configured for SNS sends with boto3 to the
simulator's SNS endpoint; the signed delivery report comes back through the gateway and the worker."""
from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from .conftest import wait_ready
from .harness import ORG, Client, Proc, Stack, number
from .test_pipeline import outcome

SNS_SENDER = "+15005550020"


@pytest.fixture(scope="module")
def sns_worker(stack: Stack, client: Client) -> Iterator[Proc]:
    channels = stack.tmp / "channels-sns.json"
    channels.write_text(json.dumps([{"id": "demo-sms-sns", "organization_id": ORG, "channel": "SMS",
                                     "provider": "sns", "sender": SNS_SENDER, "per_second": 50}]))
    proc = stack.worker("sns-worker", {"CARELAY_CHANNELS_FILE": str(channels)})
    wait_ready(proc)
    yield proc
    proc.stop()


def test_an_sms_goes_out_through_sns_and_its_delivery_report_comes_back(stack: Stack, client: Client,
                                                                        sns_worker: Proc) -> None:
    outcomes = client.reader("outcomes")
    to = number()
    req = client.request(to, channels=["SMS"])
    client.send(req)
    seen = outcomes.wait(lambda rs: outcome(rs, req["message_id"], "delivered"), 30, f"sns\n{sns_worker.tail()}")
    routed = outcome(seen, req["message_id"], "routed")
    assert routed is not None and routed["channel"] == "SMS"
    (sent,) = stack.sent(to)
    assert (sent["provider"], sent["channel"], sent["sender"], sent["status"]) == ("sns", "SMS", SNS_SENDER,
                                                                                   "delivered")
    assert "Ana" in sent["body"]


def test_the_gateway_refuses_an_sns_notification_it_cannot_verify(stack: Stack) -> None:
    record = {"notification": {"messageId": "m-forged", "timestamp": "2026-01-01 00:00:00.000"},
              "delivery": {"destination": number(), "providerResponse": "ok"}, "status": "SUCCESS"}
    forged = {"Type": "Notification", "MessageId": "n-1", "TopicArn": "arn:aws:sns:us-east-1:000000000000:"
              "carelay-sms-status", "Message": json.dumps(record), "Timestamp": "2026-01-01T00:00:00.000Z",
              "SignatureVersion": "2", "Signature": "AAAA", "SigningCertURL": f"{stack.sim_url}/x.pem"}
    r = httpx.post(f"{stack.gw_url}/webhooks/sns?org={ORG}", content=json.dumps(forged),
                   headers={"Content-Type": "text/plain; charset=UTF-8"}, timeout=10)
    assert r.status_code == 403
