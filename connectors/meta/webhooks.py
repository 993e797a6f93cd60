"""The Cloud API's side of the gateway's webhooks: one path, a POST of items and a GET handshake.

The gateway only proves a POST came from Meta (signature.py), wraps each status, message or error
in a sealed WebhookEnvelope and answers; interpretation happens in the streams (connectors.meta.parse).
"""
from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any

from connectors.base import decode_refs
from connectors.meta.capabilities import PROVIDER
from connectors.meta.parse import split_webhook
from connectors.meta.signature import HEADER, verify_signature
from connectors.meta.templates import reviews_in
from connectors.templates import TEMPLATE_STATUS
from connectors.webhooks import OrganizationFor, WebhookBody, WebhookItem, WebhookRoute
from schemas.numbers import patient_number

PATH = "/webhooks/meta"  # Meta / 360dialog JSON webhooks (GET verify + POST)
MAX_CHALLENGE = 1024
ERROR_SCHEMA = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}

# A POST carries every status and message, so it is mounted first of all webhook routes; the GET
# handshake comes last (a GET-only route would only half-match a POST and the router would look on).
ROUTES: tuple[WebhookRoute, ...] = (
    WebhookRoute(PATH, "POST", "webhook", f"webhook.{PROVIDER}", 0, {
        "summary": "Meta / 360dialog WhatsApp webhook", "tags": ["webhooks"], "security": [],
        "parameters": [{"name": HEADER, "in": "header", "required": True, "schema": {"type": "string"}}],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}},
        "responses": {"200": {"description": "one WebhookEnvelope per status / message"}},
    }),
    WebhookRoute(PATH, "GET", "verify", f"webhook.{PROVIDER}.verify", 90, {
        "summary": "Meta subscription handshake", "tags": ["webhooks"], "security": [],
        "parameters": [{"name": n, "in": "query", "required": False, "schema": {"type": "string"}}
                       for n in ("hub.mode", "hub.verify_token", "hub.challenge")],
        "responses": {"200": {"description": "the challenge",
                              "content": {"text/plain": {"schema": {"type": "string"}}}},
                      "403": {"description": "wrong verify token", "content": ERROR_SCHEMA}},
    }, shared_errors=("429",), refusal="bad_verify_token"),
)
_KINDS = {"status": "status", "message": "inbound", "error": "error"}


def items_of(body: Any, organization_for: OrganizationFor) -> list[WebhookItem]:
    """One item per status / message / error of a (verified) webhook body."""
    items = []
    for kind, fields, metadata in split_webhook(body if isinstance(body, Mapping) else {}):
        refs = decode_refs(str(fields.get("biz_opaque_callback_data") or "")) if kind == "status" else {}
        query = {**refs, **{k: v for k, v in metadata.items() if v}}
        phone_number_id = metadata.get("phone_number_id", "")
        org = refs.get("org") or (organization_for(phone_number_id) if phone_number_id else None)
        patient = fields.get("recipient_id") if kind == "status" else fields.get("from")
        fallback = str(fields.get("id") or phone_number_id or PROVIDER)
        items.append(WebhookItem(_KINDS.get(kind, kind), fields, query, org,
                                 patient_number(str(patient)) if patient else None, fallback))
    # a template review concerns no patient nor organization: keyed by Meta's template id
    for review, waba_id in reviews_in(body):
        items.append(WebhookItem(TEMPLATE_STATUS, review, {"waba_id": waba_id}, None, None,
                                 f"template:{review['template_id'] or review['name']}"))
    return items


class MetaWebhooks:
    """One app's webhooks: MetaSettings.app_secret signs the POSTs, verify_token answers the handshake."""

    provider = PROVIDER
    routes = ROUTES

    def __init__(self, app_secret: str, verify_token: str) -> None:
        self._secret = app_secret.encode()
        self._verify_token = verify_token.encode()

    def verified(self, route: WebhookRoute, body: WebhookBody) -> bool:
        return verify_signature(self._secret, body.raw, body.header(HEADER))

    def items(self, route: WebhookRoute, body: WebhookBody, organization_for: OrganizationFor) -> list[WebhookItem]:
        return items_of(body.json(), organization_for)

    def answer(self, route: WebhookRoute) -> tuple[bytes, str | None]:
        return b"", None

    def handshake(self, route: WebhookRoute, body: WebhookBody) -> str | None:
        """Echo hub.challenge when hub.verify_token is ours."""
        given = body.param("hub.verify_token").encode()
        challenge = body.param("hub.challenge")
        if body.param("hub.mode") == "subscribe" and challenge and hmac.compare_digest(given, self._verify_token):
            return challenge[:MAX_CHALLENGE]
        return None
