"""The neutral interface: status tables, references, dataclass guards."""
from __future__ import annotations

import pytest

from connectors.base import (
    CANONICAL_STATUSES,
    STATUS_MAPS,
    ChannelInstance,
    OutboundMessage,
    canonical_status,
    decode_refs,
    encode_refs,
    with_refs,
)


@pytest.mark.parametrize(
    ("provider", "spelled", "canonical"),
    [
        ("twilio", "accepted", "queued"), ("twilio", "scheduled", "queued"), ("twilio", "queued", "queued"),
        ("twilio", "sending", "queued"), ("twilio", "sent", "sent"), ("twilio", "delivered", "delivered"),
        ("twilio", "read", "read"), ("twilio", "undelivered", "undelivered"), ("twilio", "failed", "failed"),
        ("twilio", "canceled", "cancelled"), ("twilio", "received", None),
        ("twilio_call", "completed", "delivered"), ("twilio_call", "no-answer", "undelivered"),
        ("meta", "sent", "sent"), ("meta", "delivered", "delivered"), ("meta", "read", "read"),
        ("meta", "failed", "failed"), ("d360", "READ", "read"), ("inapp", "sent", None),
    ],
)
def test_canonical_status(provider: str, spelled: str, canonical: str | None) -> None:
    assert canonical_status(provider, spelled) == canonical


def test_every_mapping_lands_on_a_canonical_status() -> None:
    for table in STATUS_MAPS.values():
        assert set(table.values()) <= set(CANONICAL_STATUSES)


def test_refs_round_trip_through_a_callback_url() -> None:
    url = with_refs("https://gw.example/webhooks/twilio/status?x=1", "org a", "m-1", "m-1:0")
    assert url.startswith("https://gw.example/webhooks/twilio/status?x=1&org=org+a&")
    assert decode_refs(url.split("?", 1)[1]) == {"org": "org a", "message_id": "m-1", "attempt_id": "m-1:0"}
    assert decode_refs(encode_refs("o", "m", "a")) == {"org": "o", "message_id": "m", "attempt_id": "a"}
    assert decode_refs(None) == {}


def test_outbound_repr_hides_phi() -> None:
    msg = OutboundMessage("m1", "m1:0", "org", "rid", to="+15551234567", channel="SMS",
                          params={"patient_name": "Ana"}, text="hola Ana")
    shown = repr(msg)
    assert "+15551234567" not in shown and "Ana" not in shown


def test_channel_instance_validates() -> None:
    with pytest.raises(ValueError, match="unknown channel"):
        ChannelInstance("x", "org", "FAX", "twilio", "+15005550006")
    with pytest.raises(ValueError, match="unknown provider"):
        ChannelInstance("x", "org", "SMS", "vonage", "+15005550006")
    inst = ChannelInstance("x", "org", "SMS", "twilio", "+15005550006", config={"a": 1})
    assert hash(inst) == hash(ChannelInstance("x", "org", "SMS", "twilio", "+15005550006"))
