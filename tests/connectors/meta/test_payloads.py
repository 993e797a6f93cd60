"""Cloud API request bodies (pure): template with quick-reply payloads, interactive buttons, text."""
from __future__ import annotations

import pytest

from connectors.base import OutboundMessage, decode_refs
from connectors.errors import FallbackError
from connectors.meta.payloads import build_payload
from schemas.templates import default_catalog

CATALOG = default_catalog()
PARAMS = {"patient_name": "Ana", "clinic": "Clinica Sur", "date": "12/05", "time": "10:30"}


def msg(**kw: object) -> OutboundMessage:
    base: dict[str, object] = dict(message_id="m-1", attempt_id="m-1:0", organization_id="demo-clinic",
                                   recipient_id="r1", to="+5215512345678", channel="WHATSAPP",
                                   template="appointment_reminder", params=PARAMS, asks="confirm_cancel")
    base.update(kw)
    return OutboundMessage(**base)  # type: ignore[arg-type]


def test_template_with_body_parameters_and_quick_reply_payloads() -> None:
    body = build_payload(msg(language="pt"), CATALOG)
    assert body["messaging_product"] == "whatsapp" and body["to"] == "5215512345678"
    t = body["template"]
    assert t["name"] == "appointment_reminder" and t["language"] == {"code": "pt_BR"}
    assert t["components"][0] == {"type": "body", "parameters": [
        {"type": "text", "text": "Ana"}, {"type": "text", "text": "Clinica Sur"},
        {"type": "text", "text": "12/05"}, {"type": "text", "text": "10:30"}]}
    assert t["components"][1:] == [
        {"type": "button", "sub_type": "quick_reply", "index": "0",
         "parameters": [{"type": "payload", "payload": "confirm:m-1"}]},
        {"type": "button", "sub_type": "quick_reply", "index": "1",
         "parameters": [{"type": "payload", "payload": "cancel:m-1"}]},
    ]
    assert decode_refs(body["biz_opaque_callback_data"]) == {"org": "demo-clinic", "message_id": "m-1",
                                                             "attempt_id": "m-1:0"}


def test_template_without_parameters_has_no_empty_body_component() -> None:
    body = build_payload(msg(template="opt_out_confirmation", params={}, asks=None), CATALOG)
    assert body["template"]["components"] == []


def test_interactive_buttons_inside_the_window() -> None:
    body = build_payload(msg(use_template=False, template=None, params={}, text="Confirma su cita?",
                             language="en"), CATALOG)
    assert body["type"] == "interactive"
    assert body["interactive"] == {"type": "button", "body": {"text": "Confirma su cita?"}, "action": {"buttons": [
        {"type": "reply", "reply": {"id": "confirm:m-1", "title": "Confirm"}},
        {"type": "reply", "reply": {"id": "cancel:m-1", "title": "Cancel"}}]}}


def test_plain_text_inside_the_window() -> None:
    body = build_payload(msg(use_template=False, asks=None, template="appointment_confirmed",
                             params={"date": "12/05", "time": "10:30"}), CATALOG)
    assert body["type"] == "text" and body["text"]["body"].startswith("Gracias, su cita del 12/05")


def test_outside_the_window_only_templates() -> None:
    with pytest.raises(FallbackError):
        build_payload(msg(template=None, params={}, text="hola"), CATALOG)
    with pytest.raises(FallbackError):
        build_payload(msg(channel="SMS"), CATALOG)
