"""Twilio's webhook side (pure): parties, kinds, the signed URL, verification and the items of one callback."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode

import pytest
from twilio.request_validator import RequestValidator

from connectors.twilio.signature import signed_url
from connectors.twilio.webhooks import EMPTY_TWIML, ROUTES, TwilioWebhooks, item_kind, parties
from connectors.webhooks import MalformedWebhook


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


TOKEN = "12345"
PUBLIC = "https://gw.example"
STATUS = next(r for r in ROUTES if r.kind == "status")
VOICE = next(r for r in ROUTES if r.kind == "voice")


@dataclass
class Body:
    """A WebhookBody as the gateway would hand it over (form and JSON parsing without the gateway)."""

    raw: bytes
    query: str | None
    headers: dict[str, str] = field(default_factory=dict)
    path: str = "/webhooks/twilio/status"
    public_url: str = PUBLIC

    def header(self, name: str) -> str | None:
        return {k.lower(): v for k, v in self.headers.items()}.get(name.lower())

    def param(self, name: str) -> str:
        return dict(parse_qsl(self.query or "")).get(name, "")

    def form(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for k, v in parse_qsl(self.raw.decode(), keep_blank_values=True):
            out.setdefault(k, []).append(v)
        return out

    def json(self) -> object:
        return json.loads(self.raw)


def signed_form(fields: dict[str, str], query: str, path: str = "/webhooks/twilio/status") -> Body:
    signature = RequestValidator(TOKEN).compute_signature(f"{PUBLIC}{path}?{query}", fields)
    return Body(urlencode(fields).encode(), query, {"X-Twilio-Signature": signature,
                                                    "Content-Type": "application/x-www-form-urlencoded"}, path)


def test_a_signed_form_is_verified_and_becomes_one_item() -> None:
    fields = {"MessageSid": "SM1", "MessageStatus": "delivered", "To": "+5215512345678", "From": "+15005550006"}
    body = signed_form(fields, "org=clinic&message_id=m1")
    hooks = TwilioWebhooks(TOKEN)
    assert hooks.verified(STATUS, body)
    [item] = hooks.items(STATUS, body, lambda address: None)
    assert (item.kind, item.organization_id, item.patient, item.fallback_key) == ("status", "clinic", "+525512345678",
                                                                                  "SM1")
    assert item.query == {"org": "clinic", "message_id": "m1"} and item.fields["MessageStatus"] == "delivered"
    assert hooks.answer(STATUS) == (EMPTY_TWIML, "text/xml") and hooks.handshake(STATUS, body) is None


@pytest.mark.parametrize("change", ["token", "field", "query", "not-utf8", "no-signature"])
def test_anything_but_the_signed_request_is_refused(change: str) -> None:
    fields = {"MessageSid": "SM1", "MessageStatus": "delivered"}
    body = signed_form(fields, "org=clinic")
    hooks = TwilioWebhooks("other" if change == "token" else TOKEN)
    if change == "field":
        body.raw = urlencode({**fields, "MessageStatus": "read"}).encode()
    elif change == "query":
        body.query = "org=other"
    elif change == "not-utf8":
        body.query = None
    elif change == "no-signature":
        body.headers.pop("X-Twilio-Signature")
    assert not hooks.verified(STATUS, body)


def test_a_voice_callback_without_sid_or_org_is_resolved_by_the_directory() -> None:
    fields = {"Digits": "1", "To": "+15005550008", "From": "+5215512345678", "Direction": "inbound"}
    body = signed_form(fields, "", path="/webhooks/twilio/voice")
    [item] = TwilioWebhooks(TOKEN).items(VOICE, body, lambda address: "clinic" if address == "+15005550008" else None)
    assert (item.kind, item.organization_id, item.fallback_key) == ("gather", "clinic", None)


def test_a_json_body_must_be_an_object() -> None:
    body = Body(b"[1]", "bodySHA256=x", {"Content-Type": "application/json"})
    with pytest.raises(MalformedWebhook, match="must be an object"):
        TwilioWebhooks(TOKEN).items(STATUS, body, lambda address: None)
