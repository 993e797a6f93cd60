"""SNS SMS delivery reports into canonical ProviderStatus records, pure.

A delivery report is the SMS delivery status log record SNS writes for a `Publish` to a phone number
(`{"notification": {"messageId", "timestamp"}, "delivery": {"destination", "priceInUSD",
"providerResponse", ...}, "status": "SUCCESS" | "FAILURE"}`), carried as the `Message` of a signed
SNS notification (connectors.sns.webhooks). The gateway keeps the record's fields, the streams'
interpreter calls `interpret`.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from connectors.errors import classify_with
from connectors.sns.capabilities import PROVIDER
from connectors.sns.errors import ERROR_MAP
from connectors.sns.statuses import canonical, error_code
from connectors.webhooks import ParseContext
from schemas.numbers import patient_number
from schemas.phi import Pseudonymizer

TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"  # the log's timestamps, UTC


def delivery_fields(message: str) -> dict[str, Any] | None:
    """An SNS notification's Message (a delivery log record, JSON) -> the item's fields; None when it
    is not a delivery record."""
    try:
        record = json.loads(message)
    except ValueError:
        return None
    if not isinstance(record, Mapping):
        return None
    notification, delivery = record.get("notification"), record.get("delivery")
    if not isinstance(notification, Mapping) or not isinstance(delivery, Mapping):
        return None
    if not notification.get("messageId") or not record.get("status"):
        return None
    return {
        "messageId": str(notification["messageId"]), "timestamp": str(notification.get("timestamp") or ""),
        "status": str(record["status"]), "providerResponse": str(delivery.get("providerResponse") or ""),
        "destination": str(delivery.get("destination") or ""),
        "priceInUSD": delivery.get("priceInUSD") if isinstance(delivery.get("priceInUSD"), int | float) else None,
    }


def interpret(provider: str, kind: str, body: Mapping[str, Any], query: Mapping[str, str],
              received: int | None, ctx: ParseContext) -> tuple[str, dict[str, Any] | None]:
    """One envelope -> ("status", ProviderStatus) or (kind, None)."""
    if kind == "status":
        return "status", parse_status(body, ctx.pseudonymize, query.get("org") or None, received)
    return kind, None


def _ts_ms(value: str) -> int | None:
    try:
        return int(datetime.strptime(value, TIME_FORMAT).replace(tzinfo=UTC).timestamp() * 1000)
    except ValueError:
        return None


def parse_status(fields: Mapping[str, Any], pseudonymize: Pseudonymizer, organization_id: str | None,
                 received_at: int | None = None) -> dict[str, Any] | None:
    """A delivery report's fields -> a ProviderStatus dict; None when unrecognised. SNS carries none of
    our references: the streams find the message by provider message id."""
    spelled = str(fields.get("status") or "").lower()
    status = canonical(spelled)
    message_id = fields.get("messageId")
    if status is None or not message_id:
        return None
    number = patient_number(str(fields.get("destination") or ""))
    code = error_code(spelled, str(fields.get("providerResponse") or ""))
    now = received_at if received_at is not None else int(datetime.now(UTC).timestamp() * 1000)
    price = fields.get("priceInUSD")
    return {
        "event_id": f"{PROVIDER}:{message_id}:{spelled}",
        "provider": PROVIDER, "channel": "SMS", "provider_message_id": str(message_id),
        "message_id": None, "attempt_id": None,
        "recipient_id": pseudonymize(organization_id, number) if organization_id and number else None,
        "status": status, "provider_status": spelled,
        "error_code": code, "error_class": classify_with(ERROR_MAP, code, None).kind if code else None,
        "occurred_at": _ts_ms(str(fields.get("timestamp") or "")) or now, "received_at": now,
        "billable": None,
        "price_micros": round(price * 1_000_000) if isinstance(price, int | float) else None,
        "price_currency": "USD" if isinstance(price, int | float) else None,
        "pricing_category": None, "conversation_id": None,
    }
