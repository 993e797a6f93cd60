"""Meta webhooks -> canonical events; bodies copied from the Cloud API webhook reference examples."""
from __future__ import annotations

from typing import Any

from fastavro.validation import validate

from connectors.meta.parse import parse_message, parse_status, split_webhook
from schemas import contracts
from schemas.phi import binding_of
from tests.connectors.conftest import CIPHER, PSEUDONYMS

NOW = 1_700_000_000_000
THUMBS = "\U0001f44d"
METADATA = {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"}


def envelope(value: dict[str, Any]) -> dict[str, Any]:
    return {"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [
        {"value": {"messaging_product": "whatsapp", "metadata": METADATA, **value}, "field": "messages"}]}]}


STATUS_DELIVERED = envelope({"statuses": [{  # status webhook reference: delivered, with pricing
    "id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJDQjZCMzlEQUE4OTJBMTE4RTUA", "status": "delivered",
    "timestamp": "1750263773", "recipient_id": "16505551234",
    "biz_opaque_callback_data": "org=demo-clinic&message_id=m-1&attempt_id=m-1%3A0",
    "conversation": {"id": "6ceb9d929c0d1e1f4d1ab5b3ef3f1f7e", "expiration_timestamp": "1750350180",
                     "origin": {"type": "utility"}},
    "pricing": {"billable": True, "pricing_model": "PMP", "type": "regular", "category": "utility"},
}]})
STATUS_FAILED = envelope({"statuses": [{
    "id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3N0EyQUJDMjFEQzZCQUMzODMA", "status": "failed",
    "timestamp": "1750263773", "recipient_id": "16505551234",
    "errors": [{"code": 131047, "title": "Re-engagement message", "message": "Re-engagement message",
                "error_data": {"details": "Message failed to send because more than 24 hours have passed since "
                                          "the customer last replied to this number."},
                "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"}],
}]})
CONTACTS = [{"profile": {"name": "Sheena Nelson"}, "wa_id": "16505551234"}]
TEXT = envelope({"contacts": CONTACTS, "messages": [{
    "from": "16505551234", "id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=",
    "timestamp": "1749416383", "type": "text", "text": {"body": "Does it come in another color?"}}]})
BUTTON = envelope({"contacts": CONTACTS, "messages": [{
    "context": {"from": "15550783881", "id": "wamid.HBgLMTQxMjU1NTA4MjkVAgASGBQzQUNCNjk5RDUwNUZGMUZEM0VBRAA="},
    "from": "16505551234", "id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA=",
    "timestamp": "1739321024", "type": "button", "button": {"payload": "confirm:m-1", "text": "Confirmar"}}]})
INTERACTIVE = envelope({"contacts": CONTACTS, "messages": [{
    "context": {"from": "15550783881", "id": "wamid.HBgLMTQxMjU1NTA4MjkVAgARGBI5RTBDNDRCMzRCQkE2RkEzMzMA"},
    "from": "16505551234", "id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTk3RkZCMzVBNUY1M0NCOUE2NwA=",
    "timestamp": "1744344496", "type": "interactive",
    "interactive": {"type": "button_reply", "button_reply": {"id": "cancel:m-1", "title": "Cancelar"}}}]})


def single(body: dict[str, Any]) -> tuple[str, dict[str, Any], dict[str, Any]]:
    items = split_webhook(body)
    assert len(items) == 1
    return items[0]


def valid(type_name: str, record: dict[str, Any]) -> bool:
    return bool(validate(record, contracts.parsed(type_name), raise_errors=True))


def test_status_with_pricing_and_our_references() -> None:
    kind, item, metadata = single(STATUS_DELIVERED)
    assert kind == "status"
    e = parse_status(item, metadata, PSEUDONYMS, received_at=NOW)
    assert e is not None and valid("ProviderStatus", e)
    assert (e["status"], e["message_id"], e["attempt_id"]) == ("delivered", "m-1", "m-1:0")
    assert e["recipient_id"] == PSEUDONYMS("demo-clinic", "+16505551234")
    assert (e["billable"], e["pricing_category"], e["conversation_id"]) == (True, "utility",
                                                                            "6ceb9d929c0d1e1f4d1ab5b3ef3f1f7e")
    assert e["occurred_at"] == 1_750_263_773_000 and e["received_at"] == NOW
    assert e["event_id"].endswith(":delivered")


def test_failed_status_carries_the_error_class() -> None:
    _, item, metadata = single(STATUS_FAILED)
    e = parse_status(item, metadata, PSEUDONYMS, organization_id="demo-clinic", received_at=NOW)
    assert e is not None and valid("ProviderStatus", e)
    assert (e["status"], e["error_code"], e["error_class"]) == ("failed", "131047", "fallback")
    assert e["message_id"] is None and e["recipient_id"] is not None and e["billable"] is None


def test_inbound_text() -> None:
    _, item, metadata = single(TEXT)
    e = parse_message(item, metadata, CIPHER, PSEUDONYMS, "demo-clinic", received_at=NOW)
    assert e is not None and valid("InboundMessage", e)
    assert (e["kind"], e["payload"], e["to_address"]) == ("TEXT", None, "106540352242922")
    assert CIPHER.open("text", e["text"], binding_of("InboundMessage", e)) == "Does it come in another color?"
    assert CIPHER.open("sender", e["sender"], binding_of("InboundMessage", e)) == "+16505551234"
    assert e["received_at"] == 1_749_416_383_000


def test_inbound_template_button() -> None:
    _, item, metadata = single(BUTTON)
    e = parse_message(item, metadata, CIPHER, PSEUDONYMS, "demo-clinic", received_at=NOW)
    assert e is not None and valid("InboundMessage", e)
    assert (e["kind"], e["payload"]) == ("BUTTON", "confirm:m-1")
    assert e["context_provider_message_id"] == "wamid.HBgLMTQxMjU1NTA4MjkVAgASGBQzQUNCNjk5RDUwNUZGMUZEM0VBRAA="


def test_inbound_interactive_replies() -> None:
    _, item, metadata = single(INTERACTIVE)
    e = parse_message(item, metadata, CIPHER, PSEUDONYMS, "demo-clinic", received_at=NOW)
    assert e is not None and (e["kind"], e["payload"]) == ("INTERACTIVE", "cancel:m-1")
    assert CIPHER.open("text", e["text"], binding_of("InboundMessage", e)) == "Cancelar"
    listed = {**item, "interactive": {"type": "list_reply",
                                      "list_reply": {"id": "slot-2", "title": "Martes", "description": "10:00"}}}
    e2 = parse_message(listed, metadata, CIPHER, PSEUDONYMS, "demo-clinic")
    assert e2 is not None and e2["payload"] == "slot-2"


def test_inbound_media_location_reaction_and_unknown() -> None:
    base = {"from": "16505551234", "id": "wamid.X", "timestamp": "1749416383"}
    cases = [
        ({"type": "image", "image": {"caption": "receta", "mime_type": "image/jpeg", "id": "1"}}, "MEDIA", "receta"),
        ({"type": "audio", "audio": {"mime_type": "audio/ogg", "id": "2", "voice": True}}, "MEDIA", None),
        ({"type": "document", "document": {"filename": "a.pdf", "id": "3"}}, "MEDIA", None),
        ({"type": "location", "location": {"latitude": 19.43, "longitude": -99.13}}, "LOCATION", "19.43,-99.13"),
        ({"type": "reaction", "reaction": {"message_id": "wamid.OURS", "emoji": THUMBS}}, "REACTION", THUMBS),
        ({"type": "unsupported", "errors": [{"code": 131051}]}, "OTHER", None),
    ]
    for extra, kind, text in cases:
        e = parse_message({**base, **extra}, METADATA, CIPHER, PSEUDONYMS, "demo-clinic", received_at=NOW)
        assert e is not None and valid("InboundMessage", e)
        assert e["kind"] == kind
        assert (CIPHER.open("text", e["text"], binding_of("InboundMessage", e)) if e["text"] else None) == text
    reaction = parse_message({**base, **cases[4][0]}, METADATA, CIPHER, PSEUDONYMS, "demo-clinic")
    assert reaction is not None and reaction["context_provider_message_id"] == "wamid.OURS"


def test_incomplete_items_are_dropped() -> None:
    assert parse_message({"id": "wamid.X"}, METADATA, CIPHER, PSEUDONYMS, "demo-clinic") is None
    assert parse_status({"id": "wamid.X", "status": "warning"}, METADATA, PSEUDONYMS) is None
