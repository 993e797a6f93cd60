"""Contract records (Avro dicts of schemas/avro) <-> the decisions' frozen dataclasses.

Only ids, codes and sealed values cross here: nothing is opened (the shells open what they must).
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from connectors.factory import capabilities
from schemas.errors import UnknownTemplateError
from schemas.ids import uuid4_str
from schemas.templates import TemplateCatalog
from streams.decide import status as st
from streams.decide.circuit import Transition
from streams.decide.consent import ALL_CHANNELS, OPT_IN_CONFIRMATION, OPT_OUT_CONFIRMATION
from streams.decide.intake import Request
from streams.decide.lifecycle import Outcome
from streams.decide.reconcile import DEADLINE_SOURCE, StatusFacts, status_time
from streams.decide.records import Hop, Message, sealed_to_state
from streams.decide.urgent import UNREAD

OWN_PROVIDER = "carelay"  # ProviderStatus.provider of the events our own clock writes (deadlines)
CHANNELS = ("WHATSAPP", "SMS", "VOICE", "INAPP")
CONSENT_NOTICES = frozenset({OPT_OUT_CONFIRMATION, OPT_IN_CONFIRMATION})


def ms(value: Any) -> int | None:
    """Avro timestamp-millis as epoch ms, whether the codec hands out ints or datetimes."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return int(value.timestamp() * 1000)
    return int(value)


def request_facts(rec: Mapping[str, Any], fingerprint: str, templates: TemplateCatalog) -> Request:
    content = rec["content"]
    template = content.get("template")
    asks = None
    if template is not None:
        try:
            asks = templates.get(template).asks
        except UnknownTemplateError:  # the connector refuses it at send time (a FinalError)
            asks = None
    return Request(
        message_id=rec["message_id"], organization_id=rec["organization_id"], recipient_id=rec["recipient_id"],
        idempotency_key=rec["idempotency_key"], fingerprint=fingerprint,
        channels=tuple(ch for ch in rec["channels"] if ch in CHANNELS),
        priority=rec.get("priority") or "NORMAL", template=template, language=content.get("language") or "es",
        has_text=content.get("text") is not None, asks=asks, appointment_id=rec.get("appointment_id"),
        automated=bool(rec.get("automated_reply")), send_at_ms=ms(rec.get("send_at")),
        expires_at_ms=ms(rec.get("expires_at")), timezone=rec.get("timezone"),
        # a reminder that asks keeps its own date and time (sealed): the answer's acknowledgement names them
        params=sealed_to_state(content.get("params")) if asks else None,
        # only the inbound agent's own confirmations; the gateway writes source "gateway" whatever the caller says
        consent_notice=rec.get("source") == "workflow" and bool(rec.get("automated_reply"))
        and template in CONSENT_NOTICES,
    )


def status_facts(rec: Mapping[str, Any]) -> StatusFacts:
    own = rec["provider"] == OWN_PROVIDER
    return StatusFacts(
        event_id=rec["event_id"], provider=rec["provider"], channel=rec.get("channel") or "UNKNOWN",
        provider_message_id=rec["provider_message_id"], status=rec["status"],
        at_ms=status_time(ms(rec.get("occurred_at")), ms(rec.get("received_at"))), attempt_id=rec.get("attempt_id"),
        error_code=rec.get("error_code"), error_class=rec.get("error_class"),
        source=DEADLINE_SOURCE if own else ("poll" if rec["event_id"].endswith(":poll") else "provider"),
        opt_out=capabilities(rec["provider"]).is_opt_out(rec.get("error_code")),
    )


def outcome_record(o: Outcome, msg: Message) -> dict[str, Any]:
    return {
        "event_id": o.event_id, "message_id": o.message_id, "organization_id": msg.organization_id,
        "recipient_id": msg.recipient_id, "status": o.status, "previous_status": o.previous,
        "channel": o.channel if o.channel in CHANNELS else "UNKNOWN", "provider": o.provider,
        "attempt_id": o.attempt_id, "hop": o.hop, "priority": msg.priority, "template": msg.template,
        "error_code": o.error_code, "reason": o.reason, "is_final": o.is_final, "occurred_at": o.at_ms,
        "accepted_at": msg.accepted_at_ms,
    }


def state_record(msg: Message) -> dict[str, Any]:
    hop = msg.current
    why = st.explain(msg.history, msg.status, final=msg.is_final)
    return {
        "message_id": msg.message_id, "organization_id": msg.organization_id, "recipient_id": msg.recipient_id,
        "status": msg.status, "channel": hop.channel if hop else "UNKNOWN", "provider": hop.provider if hop else None,
        "provider_message_id": hop.provider_message_id if hop else None, "hop": hop.hop if hop else 0,
        "is_final": msg.is_final, "created_at": msg.accepted_at_ms, "updated_at": msg.updated_at_ms,
        "history": [
            {"status": e.status, "at": e.at_ms, "channel": e.channel if e.channel in CHANNELS else "UNKNOWN",
             "provider": e.provider, "attempt_id": e.attempt_id, "error_code": e.error_code, "source": e.source,
             "reason": e.reason, "late": e.late, "attempt": e.attempt, "next_attempt_at": e.next_attempt_at_ms}
            for e in msg.history
        ],
        "reason": why.reason if why else None, "error_code": why.error_code if why else None,
        "next_attempt_at": why.next_attempt_at_ms if why else None,
    }



def dispatch_command(base: Mapping[str, Any], msg: Message, hop: Hop) -> dict[str, Any]:
    """The command for `hop`; `base` is the SendRequest (hop 0) or the previous hop's command."""
    return {
        "message_id": msg.message_id, "attempt_id": hop.attempt_id, "hop": hop.hop,
        "organization_id": msg.organization_id, "recipient": base["recipient"], "recipient_id": msg.recipient_id,
        "channel": hop.channel, "provider": hop.provider, "channel_instance": hop.instance_id,
        "content": base["content"], "use_template": hop.use_template, "priority": msg.priority,
        "deadline": hop.deadline_ms, "routed_at": hop.routed_at_ms, "reason": hop.reason,
    }


def delayed(target: str, key: bytes, value: bytes, due_ms: int, reason: str, attempt: int = 0) -> dict[str, Any]:
    return {"due_at": due_ms, "target_topic": target, "key": key, "value": value, "attempt": attempt,
            "reason": reason}


def deadline_status(msg: Message, hop: Hop, now_ms: int) -> dict[str, Any]:
    """Our clock's event: `expired` for the hop if nothing was delivered by its deadline."""
    return _clock_status(msg, hop, "expired", "deadline", hop.deadline_ms, now_ms)


def unread_status(msg: Message, hop: Hop, now_ms: int) -> dict[str, Any]:
    """Our clock's event: an urgent notice still only `delivered` when its time to read is up."""
    return _clock_status(msg, hop, "delivered", UNREAD, hop.voice_at_ms or now_ms, now_ms)


def _clock_status(msg: Message, hop: Hop, status: str, code: str, at_ms: int, now_ms: int) -> dict[str, Any]:
    return {
        "event_id": f"{OWN_PROVIDER}:{hop.attempt_id}:{code}", "provider": OWN_PROVIDER, "channel": hop.channel,
        "provider_message_id": hop.attempt_id, "message_id": msg.message_id, "attempt_id": hop.attempt_id,
        "recipient_id": msg.recipient_id, "status": status, "provider_status": code, "error_code": code,
        "error_class": "fallback", "occurred_at": at_ms, "received_at": now_ms,
        "billable": None, "price_micros": None, "price_currency": None, "pricing_category": None,
        "conversation_id": None,
    }


def poll_status(fields: Mapping[str, Any], msg: Message, hop: Hop, now_ms: int) -> dict[str, Any] | None:
    """A reconciliation poll result (Connector.fetch_status) as a ProviderStatus, or None."""
    status = fields.get("status")
    if not status:
        return None
    return {
        "event_id": f"{hop.provider}:{hop.provider_message_id}:{fields.get('provider_status')}:poll",
        "provider": hop.provider, "channel": hop.channel, "provider_message_id": hop.provider_message_id,
        "message_id": msg.message_id, "attempt_id": hop.attempt_id, "recipient_id": msg.recipient_id,
        "status": status, "provider_status": str(fields.get("provider_status") or status),
        "error_code": fields.get("error_code"), "error_class": fields.get("error_class"),
        "occurred_at": fields.get("occurred_at") or now_ms, "received_at": now_ms, "billable": None,
        "price_micros": fields.get("price_micros"), "price_currency": fields.get("price_currency"),
        "pricing_category": None, "conversation_id": None,
    }


def consent_change(org: str, rid: str, channel: str, opted_in: bool, source: str, reason: str | None,
                   now_ms: int) -> dict[str, Any]:
    return {"event_id": uuid4_str(), "organization_id": org, "recipient_id": rid,
            "channel": channel if channel in CHANNELS else ALL_CHANNELS,
            "state": "OPTED_IN" if opted_in else "OPTED_OUT", "source": source, "reason": reason,
            "occurred_at": now_ms}


def consent_key(org: str, rid: str, channel: str) -> bytes:
    return f"{org}|{rid}|{channel}".encode()


def circuit_event(instance_id: str, provider: str, channel: str, move: Transition, now_ms: int) -> dict[str, Any]:
    return {"event_id": uuid4_str(), "channel_instance": instance_id, "provider": provider,
            "channel": channel if channel in CHANNELS else "UNKNOWN", "state": move.state.value,
            "previous_state": move.previous.value, "failures": move.failures, "occurred_at": now_ms}


def dead_letter(topic: str, partition: int, offset: int, key: bytes | None, value: bytes | None, reason: str,
                now_ms: int, *, detail: str | None = None, message_id: str | None = None) -> dict[str, Any]:
    return {"source_topic": topic, "source_partition": partition, "source_offset": offset, "key": key,
            "value": value, "reason": reason, "detail": detail, "message_id": message_id, "failed_at": now_ms}


def audit(action: str, outcome: str, now_ms: int, *, org: str | None, resource: str | None,
          reason: str | None = None, details: Mapping[str, str] | None = None) -> dict[str, Any]:
    return {"audit_id": uuid4_str(), "occurred_at": now_ms, "actor": "streams", "role": "service",
            "organization_id": org, "action": action, "resource": resource, "outcome": outcome, "reason": reason,
            "remote_addr": None, "details": dict(details or {})}
