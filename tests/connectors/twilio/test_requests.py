"""Twilio request building (pure): the SDK arguments for SMS, WhatsApp and voice."""
from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from connectors.base import ChannelInstance, OutboundMessage
from connectors.errors import FallbackError, FinalError
from connectors.twilio.requests import build_request, gather_reply_twiml, price_micros, voice_twiml
from schemas.templates import default_catalog
from tests.connectors.conftest import INSTANCES

CATALOG = default_catalog()
PARAMS = {"patient_name": "Ana", "clinic": "Clinica Sur", "date": "12/05", "time": "10:30"}


def msg(channel: str, **kw: object) -> OutboundMessage:
    base: dict[str, object] = dict(message_id="m-1", attempt_id="m-1:0", organization_id="demo-clinic",
                                   recipient_id="r1", to="+5215512345678", channel=channel,
                                   template="appointment_reminder", params=PARAMS, asks="confirm_cancel",
                                   callback_url="https://gw.example")
    base.update(kw)
    return OutboundMessage(**base)  # type: ignore[arg-type]


def test_sms_renders_the_catalog_text_and_carries_our_ids_in_the_callback() -> None:
    req = build_request(INSTANCES["SMS:twilio"], msg("SMS"), CATALOG)
    assert req.kind == "message"
    assert req.params["to"] == "+5215512345678" and req.params["from_"] == INSTANCES["SMS:twilio"].sender
    assert req.params["body"].startswith("Hola Ana, le recordamos su cita en Clinica Sur")
    cb = urlsplit(req.params["status_callback"])
    assert cb.path == "/webhooks/twilio/status"
    assert parse_qs(cb.query) == {"org": ["demo-clinic"], "message_id": ["m-1"], "attempt_id": ["m-1:0"]}


def test_whatsapp_template_uses_content_sid_and_numbered_variables() -> None:
    inst = INSTANCES["WHATSAPP:twilio"]
    req = build_request(inst, msg("WHATSAPP", language="en"), CATALOG)
    assert req.params["to"] == "whatsapp:+5215512345678"
    assert req.params["from_"] == f"whatsapp:{inst.sender}"
    assert req.params["content_sid"] == inst.config["content_sids"]["appointment_reminder:en"]
    assert json.loads(req.params["content_variables"]) == {"1": "Ana", "2": "Clinica Sur", "3": "12/05", "4": "10:30"}
    assert "body" not in req.params


def test_whatsapp_free_form_inside_the_window() -> None:
    req = build_request(INSTANCES["WHATSAPP:twilio"], msg("WHATSAPP", use_template=False, template=None,
                                                           params={}, text="Su receta esta lista"), CATALOG)
    assert req.params["body"] == "Su receta esta lista" and "content_sid" not in req.params


def test_missing_content_sid_falls_back() -> None:
    bare = ChannelInstance("wa", "demo-clinic", "WHATSAPP", "twilio", "+15005550007")
    with pytest.raises(FallbackError):
        build_request(bare, msg("WHATSAPP"), CATALOG)


def test_channel_mismatch_and_empty_message() -> None:
    with pytest.raises(FallbackError):
        build_request(INSTANCES["SMS:twilio"], msg("WHATSAPP"), CATALOG)
    with pytest.raises(FinalError):
        build_request(INSTANCES["SMS:twilio"], msg("SMS", template=None, params={}, text=None), CATALOG)


def test_voice_question_gathers_one_digit_in_the_patients_language() -> None:
    req = build_request(INSTANCES["VOICE:twilio"], msg("VOICE", language="pt"), CATALOG)
    twiml = req.params["twiml"]
    assert req.kind == "call"
    assert '<Gather action="https://gw.example/webhooks/twilio/voice/gather?org=demo-clinic&amp;message_id=m-1' in twiml
    assert 'numDigits="1"' in twiml and '<Say language="pt-BR">Ola Ana.' in twiml
    assert twiml.index("<Gather") < twiml.index("<Say") < twiml.index("</Gather>")
    assert urlsplit(req.params["status_callback"]).path == "/webhooks/twilio/voice/status"


@pytest.mark.parametrize(("lang", "code"), [("es", "es-MX"), ("en", "en-US"), ("pt", "pt-BR")])
def test_voice_without_question_only_says(lang: str, code: str) -> None:
    twiml = voice_twiml("Hola & adios <3", lang, None)
    assert twiml.endswith(f'<Response><Say language="{code}">Hola &amp; adios &lt;3</Say></Response>')
    assert "<Gather" not in twiml


def test_gather_reply_and_prices() -> None:
    assert "Gracias" in gather_reply_twiml("es") and 'language="en-US"' in gather_reply_twiml("en")
    assert price_micros("-0.00750") == 7500 and price_micros(None) is None and price_micros("x") is None
