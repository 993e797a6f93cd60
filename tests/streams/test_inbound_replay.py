"""A captured signed inbound webhook posted again later is dropped by the worker, on the real broker."""
from __future__ import annotations

import time
import uuid
from typing import Any

from schemas.phi import Binding
from schemas.settings import TwilioSettings

from .harness import ORG, Client, Proc, Stack, number

SMS_FROM = TwilioSettings().sms_from


def inbound(client: Client, to: str, sid: str, text: str | None) -> dict[str, Any]:
    """The InboundMessage the gateway publishes for a Twilio webhook with this MessageSid; a replayed
    webhook is read again now, so it carries a new received_at."""
    bound = Binding(ORG, f"twilio:{sid}")
    return {"event_id": bound.record_id, "provider": "twilio", "channel": "SMS", "provider_message_id": sid,
            "organization_id": ORG, "recipient_id": client.rid(to), "sender": client.cipher.seal("sender", to, bound),
            "to_address": SMS_FROM, "kind": "TEXT" if text else "REACTION",
            "text": client.cipher.seal("text", text, bound) if text else None, "payload": None,
            "context_provider_message_id": None, "received_at": int(time.time() * 1000)}


def test_a_stop_replayed_after_33_other_inbound_messages_is_dropped(stack: Stack, client: Client,
                                                                     worker: Proc) -> None:
    to = number()
    rid = client.rid(to)
    consent = client.reader("consent")

    def changes() -> list[str]:
        return [r["state"] for r in consent.poll(0.2) if r["recipient_id"] == rid]

    stop = inbound(client, to, f"SM{uuid.uuid4().hex}", "STOP")
    client.publish("inbound", rid.encode(), stop)
    consent.wait(lambda _: changes() == ["OPTED_OUT"], 30, f"opt-out\n{worker.tail()}")
    time.sleep(0.01)
    client.publish("inbound", rid.encode(), inbound(client, to, f"SM{uuid.uuid4().hex}", "START"))
    consent.wait(lambda _: changes() == ["OPTED_OUT", "OPTED_IN"], 30, "opt-in")
    for _ in range(33):  # reactions: no side effects, each one more id in the patient's dedup state
        client.publish("inbound", rid.encode(), inbound(client, to, f"SM{uuid.uuid4().hex}", None))

    client.publish("inbound", rid.encode(), {**stop, "received_at": int(time.time() * 1000)})  # the replay
    # then a fresh STOP on the same partition: once it is read, so is the replay before it
    time.sleep(0.01)
    client.publish("inbound", rid.encode(), inbound(client, to, f"SM{uuid.uuid4().hex}", "STOP"))
    consent.wait(lambda _: len(changes()) >= 3, 30, f"the second opt-out\n{worker.tail()}")
    consent.poll(1.0)
    assert changes() == ["OPTED_OUT", "OPTED_IN", "OPTED_OUT"]
    consent.close()
