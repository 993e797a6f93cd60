"""The neutral interface: references, capabilities, dataclass guards."""
from __future__ import annotations

import pytest

from connectors.base import Capabilities, ChannelInstance, OutboundMessage, decode_refs, encode_refs, with_refs


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
    inst = ChannelInstance("x", "org", "SMS", "twilio", "+15005550006", config={"a": 1})
    assert hash(inst) == hash(ChannelInstance("x", "org", "SMS", "twilio", "+15005550006"))


def test_capabilities_default_to_nothing() -> None:
    caps = Capabilities(opt_out_codes=frozenset({"9"}), carrier_keywords={"SMS": frozenset({"STOP"})})
    assert caps.is_opt_out("9") and not caps.is_opt_out(None) and not caps.is_opt_out("8")
    assert caps.keywords_answered("SMS") == {"STOP"} and caps.keywords_answered("WHATSAPP") == frozenset()
    assert not Capabilities().can_lookup and Capabilities().address_family is None
