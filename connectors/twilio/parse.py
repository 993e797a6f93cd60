"""Twilio callbacks (form fields) into canonical ProviderStatus / InboundMessage records, pure.

The gateway publishes each verified callback as a WebhookEnvelope (connectors.twilio.webhooks); the
streams' interpreter opens it and calls `interpret`.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from connectors.base import REF_KEYS
from connectors.errors import classify_with
from connectors.twilio.capabilities import PROVIDER
from connectors.twilio.errors import ERROR_MAP
from connectors.twilio.statuses import call_status, message_status
from connectors.webhooks import ParseContext
from schemas.numbers import patient_number
from schemas.phi import Binding, PhiCipher, Pseudonymizer, normalize_address

GATHER_DIGITS: Mapping[str, str] = {"1": "confirm", "2": "cancel"}


def interpret(provider: str, kind: str, body: Mapping[str, Any], query: Mapping[str, str],
              received: int | None, ctx: ParseContext) -> tuple[str, dict[str, Any] | None]:
    """One envelope (its kind as the gateway named it) -> ("status" | "inbound", record), or (kind, None)."""
    form = {k: str(v) for k, v in body.items()}
    ours = form.get("From", "") if kind in ("status", "call_status") else form.get("To", "")
    org = query.get("org") or ctx.organization_for(provider, ours)
    pseudo, cipher = ctx.pseudonymize, ctx.cipher
    if kind == "status":
        return "status", parse_status_callback(form, query, pseudo, org, received)
    if kind == "call_status":
        return "status", parse_call_status(form, query, pseudo, org, received)
    if kind == "gather":
        return "inbound", parse_gather(form, query, cipher, pseudo, org, received)
    if kind == "inbound" and org:
        return "inbound", parse_inbound(form, cipher, pseudo, org, received)
    return kind, None


def _now_ms() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)


def _recipient_id(pseudonymize: Callable[[str, str], str], org: str | None, raw_address: str | None) -> str | None:
    number = patient_number(raw_address)  # the canonical form the gateway keyed the envelope by
    if not org or number is None:
        return None
    return pseudonymize(org, number)


def parse_status_callback(form: Mapping[str, str], query: Mapping[str, str], pseudonymize: Pseudonymizer,
                          organization_id: str | None = None, received_at: int | None = None) -> dict[str, Any] | None:
    """A message status callback -> a ProviderStatus dict; None for statuses we do not track.

    `query` is the callback URL's query (our references); `organization_id` is a fallback for
    callbacks without references. Twilio callbacks carry no event time: occurred_at = received_at.
    """
    spelled = str(form.get("MessageStatus") or form.get("SmsStatus") or "").lower()
    status = message_status(spelled)
    sid = form.get("MessageSid") or form.get("SmsSid")
    if status is None or not sid:
        return None
    refs = {k: query[k] for k in REF_KEYS if query.get(k)}
    org = refs.get("org") or organization_id
    to = form.get("To", "")
    channel = "WHATSAPP" if to.startswith("whatsapp:") or form.get("ChannelPrefix") == "whatsapp" else "SMS"
    code = form.get("ErrorCode") or None
    now = received_at if received_at is not None else _now_ms()
    return {
        "event_id": f"{PROVIDER}:{sid}:{spelled}",
        "provider": PROVIDER, "channel": channel, "provider_message_id": sid,
        "message_id": refs.get("message_id"), "attempt_id": refs.get("attempt_id"),
        "recipient_id": _recipient_id(pseudonymize, org, to),
        "status": status, "provider_status": spelled,
        "error_code": code, "error_class": classify_with(ERROR_MAP, code, None).kind if code else None,
        "occurred_at": now, "received_at": now,
        "billable": None, "price_micros": None, "price_currency": None, "pricing_category": None,
        "conversation_id": None,
    }


def parse_call_status(form: Mapping[str, str], query: Mapping[str, str], pseudonymize: Pseudonymizer,
                      organization_id: str | None = None, received_at: int | None = None) -> dict[str, Any] | None:
    """A voice call status callback -> a ProviderStatus dict (channel VOICE), or None."""
    spelled = str(form.get("CallStatus") or "").lower()
    status = call_status(spelled)
    sid = form.get("CallSid")
    if status is None or not sid:
        return None
    org = query.get("org") or organization_id
    patient = _patient_of_call(form)
    now = received_at if received_at is not None else _now_ms()
    code = form.get("ErrorCode") or None
    return {
        "event_id": f"{PROVIDER}:{sid}:{spelled}",
        "provider": PROVIDER, "channel": "VOICE", "provider_message_id": sid,
        "message_id": query.get("message_id"), "attempt_id": query.get("attempt_id"),
        "recipient_id": _recipient_id(pseudonymize, org, patient),
        "status": status, "provider_status": spelled,
        "error_code": code, "error_class": classify_with(ERROR_MAP, code, None).kind if code else None,
        "occurred_at": _rfc2822_ms(form.get("Timestamp")) or now, "received_at": now,
        "billable": None, "price_micros": None, "price_currency": None, "pricing_category": None,
        "conversation_id": None,
    }


def _patient_of_call(form: Mapping[str, str]) -> str:
    # outbound calls (ours): To is the patient; an inbound call: From is
    return form.get("To", "") if _outbound(form) else form.get("From", "")


def _our_number_of_call(form: Mapping[str, str]) -> str:
    return form.get("From", "") if _outbound(form) else form.get("To", "")


def _outbound(form: Mapping[str, str]) -> bool:
    return str(form.get("Direction", "outbound")).startswith("outbound")


def _rfc2822_ms(text: str | None) -> int | None:
    if not text:
        return None
    try:
        return int(parsedate_to_datetime(text).timestamp() * 1000)
    except (TypeError, ValueError):
        return None


def parse_inbound(form: Mapping[str, str], cipher: PhiCipher, pseudonymize: Pseudonymizer,
                  organization_id: str, received_at: int | None = None) -> dict[str, Any]:
    """A patient's SMS / WhatsApp message -> an InboundMessage dict (sender and text sealed)."""
    sid = form.get("MessageSid") or form.get("SmsMessageSid") or form.get("SmsSid") or ""
    number = patient_number(form.get("From"))
    sender = number or normalize_address(form.get("From", ""))
    to = form.get("To", "")
    channel = "WHATSAPP" if to.startswith("whatsapp:") or form.get("From", "").startswith("whatsapp:") else "SMS"
    payload = form.get("ButtonPayload") or None
    text: str | None = form.get("Body")
    if payload is not None:
        kind, text = "BUTTON", form.get("ButtonText") or text
    elif form.get("Latitude") and form.get("Longitude"):
        kind, text = "LOCATION", f"{form['Latitude']},{form['Longitude']}"
    elif int(form.get("NumMedia") or 0) > 0:
        kind = "MEDIA"
    else:
        kind = "TEXT"
    now = received_at if received_at is not None else _now_ms()
    bound = Binding(organization_id, f"{PROVIDER}:{sid}")  # an InboundMessage's event id
    return {
        "event_id": bound.record_id,
        "provider": PROVIDER, "channel": channel, "provider_message_id": sid,
        "organization_id": organization_id,
        # None for a sender that is not a known number: the interpreter dead-letters it as no_recipient
        "recipient_id": pseudonymize(organization_id, number) if number else None,
        "sender": cipher.seal("sender", sender, bound),
        "to_address": normalize_address(to),
        "kind": kind,
        "text": cipher.seal("text", text, bound) if text else None,
        "payload": payload,
        "context_provider_message_id": form.get("OriginalRepliedMessageSid") or None,
        "received_at": now,
    }


def parse_gather(form: Mapping[str, str], query: Mapping[str, str], cipher: PhiCipher, pseudonymize: Pseudonymizer,
                 organization_id: str | None = None, received_at: int | None = None) -> dict[str, Any] | None:
    """The keypress answering a voice question -> an InboundMessage (kind DIGITS). Digits 1/2 become
    the same payloads as WhatsApp buttons ("confirm:<message_id>", "cancel:<message_id>")."""
    sid = form.get("CallSid")
    org = query.get("org") or organization_id
    digits = (form.get("Digits") or "").strip()
    if not sid or not org or not digits:
        return None
    number = patient_number(_patient_of_call(form))
    patient = number or normalize_address(_patient_of_call(form))
    answer = GATHER_DIGITS.get(digits)
    message_id = query.get("message_id")
    now = received_at if received_at is not None else _now_ms()
    bound = Binding(org, f"{PROVIDER}:{sid}:gather")  # an InboundMessage's event id
    return {
        "event_id": bound.record_id,
        "provider": PROVIDER, "channel": "VOICE", "provider_message_id": sid,
        "organization_id": org,
        "recipient_id": pseudonymize(org, number) if number else None,
        "sender": cipher.seal("sender", patient, bound),
        "to_address": normalize_address(_our_number_of_call(form)),
        "kind": "DIGITS",
        "text": cipher.seal("text", digits, bound),
        "payload": f"{answer}:{message_id}" if answer and message_id else None,
        "context_provider_message_id": sid,
        "received_at": now,
    }
