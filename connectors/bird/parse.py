"""Bird Channels API webhook events into canonical ProviderStatus records, pure.

A `<channel>.outbound` event (`{"service": "channels", "event": "sms.outbound" | "whatsapp.outbound",
"payload": <the message>}`) carries the message's life-cycle status; the gateway keeps the fields
`status_fields` picks, the streams' interpreter calls `interpret`.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from connectors.base import decode_refs
from connectors.bird.capabilities import PROVIDER
from connectors.bird.errors import ERROR_MAP
from connectors.bird.statuses import canonical
from connectors.errors import classify_with
from connectors.webhooks import ParseContext
from schemas.numbers import patient_number
from schemas.phi import Pseudonymizer

CHANNELS = {"sms": "SMS", "whatsapp": "WHATSAPP"}
FAILED = ("sending_failed", "delivery_failed")


def status_fields(event: Mapping[str, Any]) -> dict[str, Any] | None:
    """The fields of an outbound status event; None for any other event or shape."""
    name = str(event.get("event") or "")
    platform, _, direction = name.partition(".")
    message = event.get("payload")
    if direction != "outbound" or platform not in CHANNELS or not isinstance(message, Mapping):
        return None
    if not message.get("id") or not message.get("status"):
        return None
    receiver = message.get("receiver")
    contacts = receiver.get("contacts") if isinstance(receiver, Mapping) else None
    first = contacts[0] if isinstance(contacts, list) and contacts and isinstance(contacts[0], Mapping) else {}
    return {"id": str(message["id"]), "channelId": str(message.get("channelId") or ""),
            "channel": CHANNELS[platform], "status": str(message["status"]),
            "reason": str(message.get("reason") or ""), "reference": str(message.get("reference") or ""),
            "updatedAt": str(message.get("updatedAt") or ""), "to": str(first.get("identifierValue") or "")}


def interpret(provider: str, kind: str, body: Mapping[str, Any], query: Mapping[str, str],
              received: int | None, ctx: ParseContext) -> tuple[str, dict[str, Any] | None]:
    """One envelope -> ("status", ProviderStatus) or (kind, None)."""
    if kind != "status":
        return kind, None
    org = query.get("org") or ctx.organization_for(provider, str(body.get("channelId") or ""))
    return "status", parse_status(body, ctx.pseudonymize, org, received)


def _ts_ms(value: str) -> int | None:
    try:
        return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return None


def parse_status(fields: Mapping[str, Any], pseudonymize: Pseudonymizer, organization_id: str | None,
                 received_at: int | None = None) -> dict[str, Any] | None:
    """A status event's fields -> a ProviderStatus dict; None when we do not track the status."""
    spelled = str(fields.get("status") or "").lower()
    status = canonical(spelled)
    message_id = fields.get("id")
    if status is None or not message_id:
        return None
    refs = decode_refs(str(fields.get("reference") or ""))
    org = refs.get("org") or organization_id
    number = patient_number(str(fields.get("to") or ""))
    code = spelled if spelled in FAILED else None
    now = received_at if received_at is not None else int(datetime.now(UTC).timestamp() * 1000)
    return {
        "event_id": f"{PROVIDER}:{message_id}:{spelled}",
        "provider": PROVIDER, "channel": str(fields.get("channel") or "SMS"), "provider_message_id": str(message_id),
        "message_id": refs.get("message_id"), "attempt_id": refs.get("attempt_id"),
        "recipient_id": pseudonymize(org, number) if org and number else None,
        "status": status, "provider_status": spelled,
        "error_code": code, "error_class": classify_with(ERROR_MAP, code, None).kind if code else None,
        "occurred_at": _ts_ms(str(fields.get("updatedAt") or "")) or now, "received_at": now,
        "billable": None, "price_micros": None, "price_currency": None, "pricing_category": None,
        "conversation_id": None,
    }
