"""Cloud API webhooks into canonical ProviderStatus / InboundMessage records, pure.

`split_webhook` cuts a verified POST into items (the gateway publishes one WebhookEnvelope each);
the streams' interpreter opens an envelope and calls `interpret`.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from connectors.base import decode_refs
from connectors.errors import classify_with
from connectors.meta.capabilities import PROVIDER
from connectors.meta.errors import ERROR_MAP
from connectors.meta.statuses import canonical
from connectors.templates import TEMPLATE_STATUS
from connectors.webhooks import ParseContext
from schemas.numbers import patient_number
from schemas.phi import Binding, PhiCipher, Pseudonymizer, normalize_address

METADATA = ("phone_number_id", "display_phone_number", "waba_id", "field")  # carried in an envelope's query


def interpret(provider: str, kind: str, body: Mapping[str, Any], query: Mapping[str, str],
              received: int | None, ctx: ParseContext) -> tuple[str, dict[str, Any] | None]:
    """One envelope (its kind as the gateway named it) -> ("status" | "inbound", record), a template
    review as it was cut (connectors.meta.templates.review_of), or (kind, None)."""
    metadata = {k: query.get(k, "") for k in METADATA}
    org = query.get("org") or ctx.organization_for(provider, metadata["phone_number_id"])
    if kind == "status":
        return "status", parse_status(body, metadata, ctx.pseudonymize, org, received, provider=provider)
    if kind == TEMPLATE_STATUS:
        return kind, dict(body)
    if kind == "inbound" and org:
        return "inbound", parse_message(body, metadata, ctx.cipher, ctx.pseudonymize, org, received,
                                        provider=provider)
    return kind, None


def split_webhook(body: Mapping[str, Any]) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """One (kind, item, metadata) per status, message or error in a webhook POST.

    kind: "status" | "message" | "error". metadata: {phone_number_id, display_phone_number,
    waba_id, field}. Contacts (profile names: PHI) are deliberately not copied; a message's `from`
    already identifies the patient. Unknown shapes yield nothing rather than raising.
    """
    out: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
    if not isinstance(body, Mapping):
        return out
    for entry in _dicts(body.get("entry")):
        for change in _dicts(entry.get("changes")):
            value = change.get("value")
            if not isinstance(value, Mapping):
                continue
            raw_meta = value.get("metadata")
            meta: Mapping[str, Any] = raw_meta if isinstance(raw_meta, Mapping) else {}
            metadata = {
                "phone_number_id": str(meta.get("phone_number_id", "")),
                "display_phone_number": str(meta.get("display_phone_number", "")),
                "waba_id": str(entry.get("id", "")),
                "field": str(change.get("field", "")),
            }
            for kind, key in (("status", "statuses"), ("message", "messages"), ("error", "errors")):
                for item in _dicts(value.get(key)):
                    out.append((kind, dict(item), dict(metadata)))
    return out


def _dicts(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def _sub(item: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = item.get(key)
    return value if isinstance(value, Mapping) else {}


def _now_ms() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)


def _ts_ms(value: Any) -> int | None:
    try:
        return int(value) * 1000 if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def parse_status(item: Mapping[str, Any], metadata: Mapping[str, Any], pseudonymize: Pseudonymizer,
                 organization_id: str | None = None, received_at: int | None = None,
                 provider: str = PROVIDER) -> dict[str, Any] | None:
    """One `statuses[]` item (from split_webhook) -> a ProviderStatus dict; None if unrecognised.

    Our references come back in biz_opaque_callback_data; `organization_id` (resolved by the caller
    from metadata.phone_number_id) is the fallback for the pseudonym when they are missing.
    """
    spelled = str(item.get("status") or "").lower()
    status = canonical(spelled)
    wamid = item.get("id")
    if status is None or not wamid:
        return None
    refs = decode_refs(item.get("biz_opaque_callback_data"))
    org = refs.get("org") or organization_id
    recipient = patient_number(str(item.get("recipient_id") or ""))  # wa_id: 521... for a Mexican mobile
    errors = item.get("errors") if isinstance(item.get("errors"), list) else []
    first_error = errors[0] if errors and isinstance(errors[0], Mapping) else {}
    code = str(first_error["code"]) if first_error.get("code") is not None else None
    pricing = _sub(item, "pricing")
    conversation = _sub(item, "conversation")
    now = received_at if received_at is not None else _now_ms()
    billable = pricing.get("billable")
    return {
        "event_id": f"{provider}:{wamid}:{spelled}",
        "provider": provider, "channel": "WHATSAPP", "provider_message_id": str(wamid),
        "message_id": refs.get("message_id"), "attempt_id": refs.get("attempt_id"),
        "recipient_id": pseudonymize(org, recipient) if org and recipient else None,
        "status": status, "provider_status": spelled,
        "error_code": code, "error_class": classify_with(ERROR_MAP, code, None).kind if code else None,
        "occurred_at": _ts_ms(item.get("timestamp")) or now, "received_at": now,
        "billable": billable if isinstance(billable, bool) else None,
        "price_micros": None, "price_currency": None,  # the webhook carries the category, not the amount
        "pricing_category": str(pricing["category"]) if pricing.get("category") else None,
        "conversation_id": str(conversation["id"]) if conversation.get("id") else None,
    }


def _inbound_content(item: Mapping[str, Any]) -> tuple[str, str | None, str | None, str | None]:
    """(kind, text, payload, context id override) for one inbound message."""
    mtype = str(item.get("type") or "")
    part = _sub(item, mtype)
    if mtype == "text":
        return "TEXT", part.get("body"), None, None
    if mtype == "button":
        return "BUTTON", part.get("text"), part.get("payload"), None
    if mtype == "interactive":
        reply = _sub(part, "button_reply") or _sub(part, "list_reply")
        return "INTERACTIVE", reply.get("title"), reply.get("id"), None
    if mtype in ("image", "audio", "video", "document", "sticker", "voice"):
        return "MEDIA", part.get("caption"), None, None
    if mtype == "location":
        lat, lng = part.get("latitude"), part.get("longitude")
        return "LOCATION", f"{lat},{lng}" if lat is not None and lng is not None else None, None, None
    if mtype == "reaction":
        return "REACTION", part.get("emoji"), None, part.get("message_id")
    return "OTHER", None, None, None


def parse_message(item: Mapping[str, Any], metadata: Mapping[str, Any], cipher: PhiCipher,
                  pseudonymize: Pseudonymizer, organization_id: str, received_at: int | None = None,
                  provider: str = PROVIDER) -> dict[str, Any] | None:
    """One `messages[]` item (from split_webhook) -> an InboundMessage dict (sender and text sealed)."""
    wamid, sender_raw = item.get("id"), item.get("from")
    if not wamid or not sender_raw:
        return None
    number = patient_number(str(sender_raw))  # wa_id: 521... for a Mexican mobile, sent to as +52...
    sender = number or normalize_address(str(sender_raw))
    kind, text, payload, context_override = _inbound_content(item)
    context = _sub(item, "context")
    now = received_at if received_at is not None else _now_ms()
    bound = Binding(organization_id, f"{provider}:{wamid}")  # an InboundMessage's event id
    return {
        "event_id": bound.record_id,
        "provider": provider, "channel": "WHATSAPP", "provider_message_id": str(wamid),
        "organization_id": organization_id,
        "recipient_id": pseudonymize(organization_id, number) if number else None,
        "sender": cipher.seal("sender", sender, bound),
        "to_address": str(metadata.get("phone_number_id", "")),
        "kind": kind,
        "text": cipher.seal("text", str(text), bound) if text else None,
        "payload": str(payload) if payload else None,
        "context_provider_message_id": context_override or context.get("id") or None,
        # the patient's send time: it opens the 24 h window
        "received_at": _ts_ms(item.get("timestamp")) or now,
    }
