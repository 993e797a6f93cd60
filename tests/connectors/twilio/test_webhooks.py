"""Twilio's webhook routes (pure): who the patient is in a callback, what a voice callback is, the signed URL."""
from __future__ import annotations

from connectors.twilio.signature import signed_url
from connectors.twilio.webhooks import item_kind, parties


def test_parties_by_kind():
    form = {"To": "whatsapp:+5215512345678", "From": "whatsapp:+15005550007"}
    assert parties("status", form) == ("whatsapp:+5215512345678", "whatsapp:+15005550007")
    assert parties("inbound", {"From": "+521", "To": "+1500"}) == ("+521", "+1500")
    assert parties("call_status", {"To": "+52", "From": "+1", "Direction": "outbound-api"}) == ("+52", "+1")
    assert parties("gather", {"To": "+1", "From": "+52", "Direction": "inbound"}) == ("+52", "+1")


def test_voice_kind_follows_digits():
    assert item_kind("voice", {"Digits": "1"}) == "gather"
    assert item_kind("voice", {"CallStatus": "completed"}) == "call_status"
    assert item_kind("status", {}) == "status"


def test_signed_url_keeps_the_query_as_received():
    assert signed_url("https://gw.example", "/webhooks/twilio/status", "org=a&message_id=m%201") == \
        "https://gw.example/webhooks/twilio/status?org=a&message_id=m%201"
    assert signed_url("https://gw.example", "/x", "") == "https://gw.example/x"
