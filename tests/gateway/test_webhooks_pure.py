"""Who is the patient in a provider callback, and how a Meta body splits into envelopes (pure)."""
from __future__ import annotations

import pytest

from gateway.webhooks import envelope_id, meta_items, patient_number, twilio_kind, twilio_parties, twilio_url


def test_twilio_parties_by_kind():
    form = {"To": "whatsapp:+5215512345678", "From": "whatsapp:+15005550007"}
    assert twilio_parties("status", form) == ("whatsapp:+5215512345678", "whatsapp:+15005550007")
    assert twilio_parties("inbound", {"From": "+521", "To": "+1500"}) == ("+521", "+1500")
    assert twilio_parties("call_status", {"To": "+52", "From": "+1", "Direction": "outbound-api"}) == ("+52", "+1")
    assert twilio_parties("gather", {"To": "+1", "From": "+52", "Direction": "inbound"}) == ("+52", "+1")


def test_twilio_voice_kind_follows_digits():
    assert twilio_kind("voice", {"Digits": "1"}) == "gather"
    assert twilio_kind("voice", {"CallStatus": "completed"}) == "call_status"
    assert twilio_kind("status", {}) == "status"


@pytest.mark.parametrize(("address", "expected"), [
    ("whatsapp:+525512345678", "+525512345678"),
    ("whatsapp:+5215512345678", "+525512345678"),  # Twilio's From for a Mexican WhatsApp mobile
    ("5215512345678", "+525512345678"),            # Meta's wa_id: no plus, the old 521 form
    ("+16505551234", "+16505551234"),
    ("+16505551234\n", "+16505551234"),            # the same patient: never a second pseudonym
    ("+12345678", None),                           # no such number
    ("client:alice", None),
    ("", None),
    (None, None),
], ids=["twilio-whatsapp", "twilio-whatsapp-mx-521", "meta-wa-id-mx-521", "sms-e164", "trailing-newline",
        "too-short", "voice-client", "empty", "missing"])
def test_patient_number_is_canonical_or_none(address, expected):
    assert patient_number(address) == expected


def test_twilio_url_keeps_the_query_as_received():
    assert twilio_url("https://gw.example", "/webhooks/twilio/status", "org=a&message_id=m%201") == \
        "https://gw.example/webhooks/twilio/status?org=a&message_id=m%201"
    assert twilio_url("https://gw.example", "/x", "") == "https://gw.example/x"


def test_envelope_ids_are_stable_for_retries():
    assert envelope_id("twilio", "status", b"body") == envelope_id("twilio", "status", b"body")
    assert envelope_id("twilio", "status", b"body") != envelope_id("twilio", "status", b"body2")


def test_meta_items_take_the_org_from_refs_or_the_directory():
    body = {"object": "whatsapp_business_account", "entry": [{"id": "waba", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp", "metadata": {"display_phone_number": "15550001111", "phone_number_id": "pn1"},
        "statuses": [{"id": "wamid.1", "status": "delivered", "recipient_id": "5215512345678",
                      "biz_opaque_callback_data": "org=clinic-a&message_id=m1&attempt_id=a1"}],
        "messages": [{"id": "wamid.2", "from": "5215599999999", "type": "text", "text": {"body": "SI"}}],
    }}]}]}
    items = meta_items(body, lambda pnid: "clinic-b" if pnid == "pn1" else None)
    assert [i.kind for i in items] == ["status", "inbound"]
    status, inbound = items
    assert status.organization_id == "clinic-a" and status.query["message_id"] == "m1"
    assert status.patient == "+525512345678" and status.query["phone_number_id"] == "pn1"
    assert inbound.organization_id == "clinic-b" and inbound.patient == "+525599999999"
    assert meta_items({"entry": "junk"}, lambda _: None) == []
    assert meta_items([1, 2], lambda _: None) == []
