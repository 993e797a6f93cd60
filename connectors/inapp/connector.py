"""The in-app channel: an InAppNotification published to Kafka for the patient app.

I/O-thin: the streams pass a `publish(key, value)` coroutine bound to the producer and the topic
catalog's `inapp` topic, so this module never spells a topic name.
"""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from connectors.base import ChannelInstance, OutboundMessage, SendResult
from connectors.errors import FallbackError, FinalError, RetryableError
from connectors.inapp.capabilities import PROVIDER
from schemas.errors import ContractError
from schemas.phi import Binding, PhiCipher
from schemas.templates import TemplateCatalog, default_catalog

PUBLISH_TIMEOUT_S = 10.0

Publish = Callable[[bytes, dict[str, Any]], Awaitable[Any]]


def build_notification(msg: OutboundMessage, cipher: PhiCipher, catalog: TemplateCatalog,
                       created_at: int) -> dict[str, Any]:
    """The InAppNotification record for one attempt (pure apart from the cipher's random nonce)."""
    if msg.text is not None:
        text = msg.text
    elif msg.template is not None:
        text = catalog.render_sms(msg.template, msg.language, msg.params)
    else:
        raise FinalError(PROVIDER, detail="message has neither text nor template")
    return {
        # the attempt id: a retried publish rewrites the same notification, the app shows it once
        "notification_id": msg.attempt_id,
        "message_id": msg.message_id,
        "organization_id": msg.organization_id,
        "recipient_id": msg.recipient_id,
        "patient_ref": None,
        "body": cipher.seal("body", text, Binding(msg.organization_id, msg.attempt_id)),  # its notification id
        "template": msg.template,
        "created_at": created_at,
    }


class InAppConnector:
    provider = PROVIDER

    def __init__(self, publish: Publish, cipher: PhiCipher, catalog: TemplateCatalog | None = None,
                 *, clock: Callable[[], int] | None = None, timeout_s: float = PUBLISH_TIMEOUT_S) -> None:
        self._publish = publish
        self._cipher = cipher
        self._catalog = catalog or default_catalog()
        self._clock = clock or (lambda: int(datetime.now(UTC).timestamp() * 1000))
        self._timeout_s = timeout_s

    async def send(self, instance: ChannelInstance, msg: OutboundMessage) -> SendResult:
        if msg.channel != "INAPP":
            raise FallbackError(PROVIDER, detail=f"inapp does not serve {msg.channel}")
        try:
            record = build_notification(msg, self._cipher, self._catalog, self._clock())
        except ContractError as exc:
            raise FinalError(PROVIDER, detail=type(exc).__name__) from None
        try:
            await asyncio.wait_for(self._publish(msg.recipient_id.encode(), record), self._timeout_s)
        except Exception as exc:  # any producer failure: the publish is idempotent per attempt, retry it
            raise RetryableError(PROVIDER, detail=f"publish: {type(exc).__name__}") from None
        # acked by Kafka = handed to the app's feed: that is delivery for this channel
        return SendResult(msg.attempt_id, "delivered", "published")

    async def fetch_status(self, instance: ChannelInstance, provider_message_id: str) -> dict[str, Any]:
        return {"provider": PROVIDER, "channel": "INAPP", "provider_message_id": provider_message_id,
                "status": None, "provider_status": None, "error_code": None, "error_class": None,
                "occurred_at": None, "price_micros": None, "price_currency": None}

    async def find_sent(self, instance: ChannelInstance, msg: OutboundMessage, since_ms: int) -> SendResult | None:
        # resending is harmless (same notification id), so an in-doubt attempt is simply sent again
        return None

    async def aclose(self) -> None:
        return None
