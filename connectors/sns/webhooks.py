"""SNS's side of the gateway's webhooks: the HTTPS subscription of the delivery report topic.

SNS posts a JSON document (Content-Type text/plain) of Type Notification, SubscriptionConfirmation
or UnsubscribeConfirmation, signed (signature.py). Only a verified notification of the configured
topic is accepted; its Message is an SMS delivery log record (connectors.sns.parse). The subscription
URL names the organization whose AWS account the topic belongs to: `/webhooks/sns?org=<id>`.
A SubscriptionConfirmation is verified and accepted without items; the subscription is confirmed by
an operator (visiting its SubscribeURL), never by the gateway fetching a URL from a request.
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import rsa

from connectors.sns.capabilities import PROVIDER
from connectors.sns.parse import delivery_fields
from connectors.sns.signature import load_certificate, verify_message
from connectors.webhooks import MalformedWebhook, OrganizationFor, WebhookBody, WebhookItem, WebhookRoute
from schemas.numbers import patient_number

PATH = "/webhooks/sns"

ROUTES: tuple[WebhookRoute, ...] = (
    WebhookRoute(PATH, "POST", "notification", f"webhook.{PROVIDER}", 60, {
        "summary": "Amazon SNS notification: an SMS delivery report", "tags": ["webhooks"], "security": [],
        "parameters": [{"name": "org", "in": "query", "required": False, "schema": {"type": "string"}}],
        "requestBody": {"required": True, "content": {"text/plain": {"schema": {"type": "string"}}}},
        "responses": {"200": {"description": "one WebhookEnvelope per delivery report"}},
    }),
)


def items_of(message: Mapping[str, object], org: str | None) -> list[WebhookItem]:
    """The items of a verified SNS document: one status per delivery report notification."""
    if message.get("Type") != "Notification":
        return []
    fields = delivery_fields(str(message.get("Message") or ""))
    if fields is None:
        raise MalformedWebhook("Message: not an SMS delivery record")
    return [WebhookItem("status", fields, {"org": org} if org else {}, org,
                        patient_number(str(fields["destination"])), str(fields["messageId"]))]


class SnsWebhooks:
    """Delivery reports of one topic (SnsSettings.status_topic_arn), signed by the configured certificate."""

    provider = PROVIDER
    routes = ROUTES

    def __init__(self, topic_arn: str, signing_cert_file: str) -> None:
        self._topic_arn = topic_arn
        self._key: rsa.RSAPublicKey | None = (
            load_certificate(Path(signing_cert_file).read_bytes()) if signing_cert_file else None)

    def verified(self, route: WebhookRoute, body: WebhookBody) -> bool:
        try:
            message = body.json()
        except ValueError:
            return False
        return verify_message(self._key, message, self._topic_arn)

    def items(self, route: WebhookRoute, body: WebhookBody, organization_for: OrganizationFor) -> list[WebhookItem]:
        message = body.json()
        if not isinstance(message, Mapping):
            raise MalformedWebhook("body: not a JSON object")
        return items_of(message, body.param("org") or None)

    def answer(self, route: WebhookRoute) -> tuple[bytes, str | None]:
        return b"", None

    def handshake(self, route: WebhookRoute, body: WebhookBody) -> str | None:
        return None
