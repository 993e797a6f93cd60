"""Twilio's side of the gateway's webhooks: the routes Twilio calls, their verification and their items.

The gateway only proves a callback came from Twilio (signature.py), wraps each item in a sealed
WebhookEnvelope and answers; interpretation happens in the streams (connectors.twilio.parse).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from connectors.http import FORM
from connectors.twilio.capabilities import PROVIDER
from connectors.twilio.signature import HEADER, SETTINGS_HEADER, SignatureValidator, signed_url
from connectors.webhooks import MalformedWebhook, OrganizationFor, WebhookBody, WebhookItem, WebhookRoute
from schemas.numbers import patient_number

# Where Twilio calls the gateway; the connector puts these in each request's callback URLs.
PATHS: Mapping[str, str] = {
    "status": "/webhooks/twilio/status",  # message status callbacks (form post)
    "inbound": "/webhooks/twilio/inbound",  # patient SMS / WhatsApp messages (form post)
    "voice": "/webhooks/twilio/voice",  # call status and Gather digits on one URL (kind from `Digits`)
    "call_status": "/webhooks/twilio/voice/status",  # call progress (form post)
    "gather": "/webhooks/twilio/voice/gather",  # keypad answer to a voice question
}
# An empty TwiML document: Twilio sends nothing on its own and ends a call after a Gather.
EMPTY_TWIML = b'<?xml version="1.0" encoding="UTF-8"?><Response/>'


def _operation(summary: str, kind: str) -> dict[str, Any]:
    return {
        "summary": summary, "tags": ["webhooks"], "security": [],
        "parameters": [
            {"name": "X-Twilio-Signature", "in": "header", "required": True, "schema": {"type": "string"}},
            {"name": "org", "in": "query", "required": False, "schema": {"type": "string"}},
            {"name": "message_id", "in": "query", "required": False, "schema": {"type": "string"}},
            {"name": "attempt_id", "in": "query", "required": False, "schema": {"type": "string"}},
        ],
        "requestBody": {"required": True, "content": {FORM: {"schema": {
            "type": "object", "additionalProperties": {"type": "string"},
            "properties": {"MessageSid": {"type": "string"}, "CallSid": {"type": "string"},
                           "To": {"type": "string"}, "From": {"type": "string"}}}}}},
        "responses": {"200": {"description": f"published as a WebhookEnvelope (kind {kind}); empty TwiML",
                              "content": {"text/xml": {"schema": {"type": "string"}}}}},
    }


def _route(kind: str, order: int, summary: str, kinds: str) -> WebhookRoute:
    return WebhookRoute(PATHS[kind], "POST", kind, f"webhook.{PROVIDER}.{kind}", order, _operation(summary, kinds))


# every message we send comes back as about three status callbacks: those first
ROUTES: tuple[WebhookRoute, ...] = (
    _route("status", 10, "Twilio message status callback", "status"),
    _route("inbound", 20, "Twilio inbound SMS / WhatsApp", "inbound"),
    _route("voice", 30, "Twilio call status or Gather digits", "call_status | gather"),
    _route("call_status", 40, "Twilio call status", "call_status"),
    _route("gather", 50, "Twilio Gather digits", "gather"),
)


def item_kind(route_kind: str, form: Mapping[str, Any]) -> str:
    if route_kind == "voice":
        return "gather" if form.get("Digits") else "call_status"
    return route_kind


def parties(kind: str, form: Mapping[str, str]) -> tuple[str, str]:
    """(patient's address, our address) as Twilio spells them, by the kind of callback."""
    to, frm = form.get("To", ""), form.get("From", "")
    if kind == "inbound":
        return frm, to
    if kind in ("call_status", "gather"):
        outbound = str(form.get("Direction", "outbound")).startswith("outbound")
        return (to, frm) if outbound else (frm, to)
    return to, frm  # a status callback of a message we sent


def _is_json(body: WebhookBody) -> bool:
    return (body.header("content-type") or "").startswith("application/json")


class TwilioWebhooks:
    """One account's webhooks (TwilioSettings.auth_token signs them)."""

    provider = PROVIDER
    routes = ROUTES

    def __init__(self, auth_token: str) -> None:
        self._signatures = SignatureValidator(auth_token)

    def verified(self, route: WebhookRoute, body: WebhookBody) -> bool:
        query = body.query
        if query is None:
            return False  # bytes Twilio cannot have signed (it signs a UTF-8 URL)
        url = signed_url(body.public_url, body.path, query)
        signature, settings = body.header(HEADER), body.header(SETTINGS_HEADER)
        if _is_json(body):
            return self._signatures.valid_json(url, query, body.raw, signature, settings)
        form = body.form()  # a malformed form is a 400 before any signature check
        return self._signatures.valid_form(url, form, signature, settings)

    def items(self, route: WebhookRoute, body: WebhookBody, organization_for: OrganizationFor) -> list[WebhookItem]:
        form: Mapping[str, Any]
        if _is_json(body):
            parsed = body.json()
            if not isinstance(parsed, dict):
                raise MalformedWebhook("a JSON webhook body must be an object")
            form = parsed
        else:
            form = {k: vs[0] if len(vs) == 1 else vs for k, vs in body.form().items()}
        kind = item_kind(route.kind, form)
        refs = dict(parse_qsl(body.query or "", keep_blank_values=True))
        patient_addr, our_addr = parties(kind, {k: str(v) for k, v in form.items()})
        org = refs.get("org") or (organization_for(our_addr) if our_addr else None)
        sid = str(form.get("MessageSid") or form.get("CallSid") or form.get("SmsSid") or "")
        return [WebhookItem(kind, form, refs, org, patient_number(patient_addr), sid or None)]

    def answer(self, route: WebhookRoute) -> tuple[bytes, str | None]:
        return EMPTY_TWIML, "text/xml"

    def handshake(self, route: WebhookRoute, body: WebhookBody) -> str | None:
        return None  # Twilio has no subscription handshake
