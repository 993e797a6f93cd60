"""Twilio webhooks -> canonical events. Forms are shaped after Twilio's documentation examples
(status callback, inbound message, WhatsApp quick-reply, call status, gather)."""
from __future__ import annotations

from typing import Any

import pytest
from fastavro.validation import validate

from connectors.twilio.parse import parse_call_status, parse_gather, parse_inbound, parse_status_callback
from schemas import contracts
from schemas.phi import binding_of
from tests.connectors.conftest import CIPHER, PSEUDONYMS

NOW = 1_700_000_000_000
QUERY = {"org": "demo-clinic", "message_id": "m-1", "attempt_id": "m-1:0"}

SMS_DELIVERED = {  # docs: "Track the Message Status of Outbound Messages", example status callback
    "AccountSid": "ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX", "ApiVersion": "2010-04-01", "From": "+15017250604",
    "MessageSid": "SMXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX", "MessageStatus": "delivered",
    "SmsSid": "SMXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX", "SmsStatus": "delivered", "To": "+16508675310",
}
WHATSAPP_READ = {
    "ChannelPrefix": "whatsapp", "ApiVersion": "2010-04-01", "MessageStatus": "read",
    "SmsSid": "SM11111111111111111111111111111111", "SmsStatus": "read", "ChannelInstallSid": "XE" + "0" * 32,
    "To": "whatsapp:+5215512345678", "From": "whatsapp:+14155238886",
    "MessageSid": "SM11111111111111111111111111111111", "StructuredMessage": "false",
    "AccountSid": "ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX", "ChannelToAddress": "+52155XXXXX678",
}
SMS_LANDLINE = {**SMS_DELIVERED, "MessageStatus": "undelivered", "SmsStatus": "undelivered", "ErrorCode": "30006"}
INBOUND_WHATSAPP_BUTTON = {  # docs: incoming WhatsApp message webhook, quick-reply button tapped
    "SmsMessageSid": "SM22222222222222222222222222222222", "NumMedia": "0", "ProfileName": "Ana",
    "MessageType": "button", "SmsSid": "SM22222222222222222222222222222222", "WaId": "5215512345678",
    "SmsStatus": "received", "Body": "Confirmar", "ButtonText": "Confirmar", "To": "whatsapp:+14155238886",
    "ButtonPayload": "confirm", "NumSegments": "1", "ReferralNumMedia": "0",
    "MessageSid": "SM22222222222222222222222222222222", "AccountSid": "ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
    "OriginalRepliedMessageSender": "whatsapp:+14155238886",
    "OriginalRepliedMessageSid": "SM11111111111111111111111111111111",
    "From": "whatsapp:+5215512345678", "ApiVersion": "2010-04-01",
}
INBOUND_SMS = {
    "ToCountry": "US", "ToState": "CA", "SmsMessageSid": "SM33333333333333333333333333333333", "NumMedia": "0",
    "ToCity": "", "FromZip": "", "SmsSid": "SM33333333333333333333333333333333", "FromState": "",
    "SmsStatus": "received", "FromCity": "", "Body": "BAJA", "FromCountry": "MX", "To": "+15005550006",
    "ToZip": "", "NumSegments": "1", "MessageSid": "SM33333333333333333333333333333333",
    "AccountSid": "ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX", "From": "+5215512345678", "ApiVersion": "2010-04-01",
}
CALL_COMPLETED = {
    "AccountSid": "ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX", "ApiVersion": "2010-04-01", "CallSid": "CA" + "4" * 32,
    "CallStatus": "completed", "Called": "+5215512345678", "Caller": "+15005550008", "Direction": "outbound-api",
    "From": "+15005550008", "To": "+5215512345678", "Timestamp": "Tue, 14 Nov 2023 22:13:20 +0000",
    "CallbackSource": "call-progress-events", "SequenceNumber": "0", "CallDuration": "12",
}
GATHER = {**CALL_COMPLETED, "CallStatus": "in-progress", "Digits": "2", "FinishedOnKey": "", "msg": "Gather End"}


def valid(type_name: str, record: dict[str, Any]) -> bool:
    return bool(validate(record, contracts.parsed(type_name), raise_errors=True))


def test_sms_delivered() -> None:
    e = parse_status_callback(SMS_DELIVERED, QUERY, PSEUDONYMS, received_at=NOW)
    assert e is not None and valid("ProviderStatus", e)
    assert (e["status"], e["channel"], e["message_id"], e["attempt_id"]) == ("delivered", "SMS", "m-1", "m-1:0")
    assert e["event_id"] == "twilio:SMXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:delivered"
    assert e["recipient_id"] == PSEUDONYMS("demo-clinic", "+16508675310")
    assert e["error_code"] is None and e["occurred_at"] == NOW


def test_whatsapp_read_and_landline_failure() -> None:
    read = parse_status_callback(WHATSAPP_READ, QUERY, PSEUDONYMS, received_at=NOW)
    assert read is not None and read["channel"] == "WHATSAPP" and read["status"] == "read"
    assert read["recipient_id"] == PSEUDONYMS("demo-clinic", "+525512345678")
    failed = parse_status_callback(SMS_LANDLINE, QUERY, PSEUDONYMS, received_at=NOW)
    assert failed is not None and valid("ProviderStatus", failed)
    assert (failed["status"], failed["error_code"], failed["error_class"]) == ("undelivered", "30006", "fallback")


def test_callback_without_our_ids_uses_the_fallback_organization() -> None:
    e = parse_status_callback(SMS_DELIVERED, {}, PSEUDONYMS, organization_id="demo-clinic", received_at=NOW)
    assert e is not None and e["message_id"] is None and e["recipient_id"] is not None
    assert parse_status_callback(SMS_DELIVERED, {}, PSEUDONYMS, received_at=NOW)["recipient_id"] is None  # type: ignore[index]


@pytest.mark.parametrize("status", ["received", "receiving", ""])
def test_untracked_statuses_are_dropped(status: str) -> None:
    assert parse_status_callback({**SMS_DELIVERED, "MessageStatus": status, "SmsStatus": status}, QUERY,
                                 PSEUDONYMS) is None


def test_inbound_whatsapp_button() -> None:
    e = parse_inbound(INBOUND_WHATSAPP_BUTTON, CIPHER, PSEUDONYMS, "demo-clinic", received_at=NOW)
    assert valid("InboundMessage", e)
    assert (e["kind"], e["payload"], e["channel"]) == ("BUTTON", "confirm", "WHATSAPP")
    assert e["context_provider_message_id"] == "SM11111111111111111111111111111111"
    assert CIPHER.open("sender", e["sender"], binding_of("InboundMessage", e)) == "+525512345678"
    assert CIPHER.open("text", e["text"], binding_of("InboundMessage", e)) == "Confirmar"
    assert e["to_address"] == "+14155238886"
    assert e["recipient_id"] == PSEUDONYMS("demo-clinic", "+525512345678")
    assert "5512345678" not in repr({k: v for k, v in e.items() if k not in ("sender", "text")})


def test_inbound_sms_text_and_media() -> None:
    e = parse_inbound(INBOUND_SMS, CIPHER, PSEUDONYMS, "demo-clinic", received_at=NOW)
    assert valid("InboundMessage", e) and e["kind"] == "TEXT" and e["channel"] == "SMS"
    assert CIPHER.open("text", e["text"], binding_of("InboundMessage", e)) == "BAJA" and e["payload"] is None
    media = parse_inbound({**INBOUND_SMS, "NumMedia": "1", "Body": ""}, CIPHER, PSEUDONYMS, "demo-clinic")
    assert media["kind"] == "MEDIA" and media["text"] is None


def test_call_status_and_gather() -> None:
    e = parse_call_status(CALL_COMPLETED, QUERY, PSEUDONYMS, received_at=NOW)
    assert e is not None and valid("ProviderStatus", e)
    assert (e["channel"], e["status"], e["provider_status"]) == ("VOICE", "delivered", "completed")
    assert e["occurred_at"] == 1_700_000_000_000
    busy = parse_call_status({**CALL_COMPLETED, "CallStatus": "no-answer"}, QUERY, PSEUDONYMS, received_at=NOW)
    assert busy is not None and busy["status"] == "undelivered"
    g = parse_gather(GATHER, QUERY, CIPHER, PSEUDONYMS, received_at=NOW)
    assert g is not None and valid("InboundMessage", g)
    assert (g["kind"], g["payload"], g["to_address"]) == ("DIGITS", "cancel:m-1", "+15005550008")
    assert CIPHER.open("sender", g["sender"], binding_of("InboundMessage", g)) == "+525512345678"
    assert parse_gather({**GATHER, "Digits": "7"}, QUERY, CIPHER, PSEUDONYMS)["payload"] is None  # type: ignore[index]
    assert parse_gather({**GATHER, "Digits": ""}, QUERY, CIPHER, PSEUDONYMS) is None
