"""Bird's side of the gateway's webhooks: one path for the Channels API's message events.

The gateway proves the POST came from Bird (signature.py, over the URL Bird called: the gateway's
public URL, the path and the query as received) and wraps each outbound status event in a sealed
WebhookEnvelope; the streams interpret it (connectors.bird.parse). Other events (inbound messages,
interactions) are accepted and not recorded yet.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.base import decode_refs
from connectors.bird.capabilities import PROVIDER
from connectors.bird.parse import status_fields
from connectors.bird.signature import HEADER, TIMESTAMP_HEADER, verify_signature
from connectors.webhooks import OrganizationFor, WebhookBody, WebhookItem, WebhookRoute
from schemas.numbers import patient_number

PATH = "/webhooks/bird"

ROUTES: tuple[WebhookRoute, ...] = (
    WebhookRoute(PATH, "POST", "event", f"webhook.{PROVIDER}", 70, {
        "summary": "Bird Channels API message event", "tags": ["webhooks"], "security": [],
        "parameters": [{"name": n, "in": "header", "required": True, "schema": {"type": "string"}}
                       for n in (HEADER, TIMESTAMP_HEADER)],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}},
        "responses": {"200": {"description": "one WebhookEnvelope per outbound status event"}},
    }),
)


def items_of(event: Any, organization_for: OrganizationFor) -> list[WebhookItem]:
    """The items of a verified event: one status for a `<channel>.outbound` event, else none."""
    fields = status_fields(event) if isinstance(event, Mapping) else None
    if fields is None:
        return []
    refs = decode_refs(fields["reference"])
    query = {**refs, **({"channelId": fields["channelId"]} if fields["channelId"] else {})}
    org = refs.get("org") or (organization_for(fields["channelId"]) if fields["channelId"] else None)
    return [WebhookItem("status", fields, query, org, patient_number(fields["to"]), fields["id"])]


class BirdWebhooks:
    """One webhook subscription's events, signed with its signing key (BirdSettings.signing_key)."""

    provider = PROVIDER
    routes = ROUTES

    def __init__(self, signing_key: str) -> None:
        self._key = signing_key.encode()

    def verified(self, route: WebhookRoute, body: WebhookBody) -> bool:
        url = body.public_url + body.path + (f"?{body.query}" if body.query else "")
        return verify_signature(self._key, body.header(TIMESTAMP_HEADER), url, body.raw, body.header(HEADER))

    def items(self, route: WebhookRoute, body: WebhookBody, organization_for: OrganizationFor) -> list[WebhookItem]:
        return items_of(body.json(), organization_for)

    def answer(self, route: WebhookRoute) -> tuple[bytes, str | None]:
        return b"", None

    def handshake(self, route: WebhookRoute, body: WebhookBody) -> str | None:
        return None
