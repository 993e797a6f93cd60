"""Pure mapping of decoded topic records to table rows: no Kafka, no ClickHouse, no clock.

Each mapper reads only named, non-PHI fields. Sealed fields (recipient, sender, text, params, body,
patient_ref, recipient_name) are never read, so no clear or sealed PHI can reach a table; `recipient_id`
is the pseudonym. Every event row carries a stable event id: a replayed record produces the same
row, which the ReplacingMergeTree collapses.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from analytics import tables as t

Record = Mapping[str, Any]

FAILED_STATUSES = ("failed", "undelivered", "expired")  # the message failed: failed_at is set
ENDED_STATUSES = ("blocked", "cancelled")  # ended without a failure: an error code, no failed_at


@dataclass(frozen=True)
class Source:
    """Where a record was read: its topic, partition and offset (also the dead-letter identity)."""

    topic: str
    partition: int
    offset: int


@dataclass(frozen=True)
class Row:
    table: str
    values: tuple[Any, ...]


# Rows are filled into a copy of a per-table template by column position: the sink maps tens of
# thousands of records a second, and a dict per row plus a set difference per row cost more than the rest.
_INDEX: dict[str, dict[str, int]] = {table: {c: i for i, c in enumerate(cols)} for table, cols in t.COLUMNS.items()}
_BLANK: dict[str, tuple[Any, ...]] = {table: ("",) * len(cols) for table, cols in t.COLUMNS.items()}
_EVENT_DEFAULTS: dict[str, Any] = {"hop": 0, "is_final": 0, "accepted_at": None, "price_micros": None,
                                   "billable": None,
                                   "source_partition": 0, "source_offset": 0}
_EVENT_BLANK = tuple(_EVENT_DEFAULTS.get(c, "") for c in t.COLUMNS[t.EVENTS])
_E = _INDEX[t.EVENTS]
_E_ID, _E_TYPE, _E_AT = _E["event_id"], _E["event_type"], _E["occurred_at"]
_E_TOPIC, _E_PARTITION, _E_OFFSET = _E["source_topic"], _E["source_partition"], _E["source_offset"]


def ts(value: Any) -> datetime:
    """Avro timestamp-millis decode to aware datetimes; plain epoch millis are accepted too."""
    if type(value) is int:  # the codec's representation (schemas/codec.py): the common case first
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromtimestamp(int(value) / 1000, tz=UTC)


def _opt_ts(value: Any) -> datetime | None:
    return None if value is None else ts(value)


def _s(value: Any) -> str:
    return "" if value is None else str(value)


def _fill(table: str, values: list[Any], fields: Mapping[str, Any]) -> Row:
    index = _INDEX[table]
    try:
        for name, value in fields.items():
            values[index[name]] = value
    except KeyError:  # a mapper typo must fail loudly in the unit tests, not drop data silently
        raise KeyError(f"{table}: no such columns {sorted(set(fields) - set(index))}") from None
    return Row(table, tuple(values))


def _build(table: str, fields: Mapping[str, Any]) -> Row:
    """A row of `table`: the named columns, every other one blank ("")."""
    return _fill(table, list(_BLANK[table]), fields)


def _event(event_type: str, event_id: str, occurred_at: Any, src: Source, **fields: Any) -> Row:
    values = list(_EVENT_BLANK)
    values[_E_ID] = event_id
    values[_E_TYPE] = event_type
    values[_E_AT] = ts(occurred_at)
    values[_E_TOPIC] = src.topic
    values[_E_PARTITION] = src.partition
    values[_E_OFFSET] = src.offset
    return _fill(t.EVENTS, values, fields)


def send_request(rec: Record, src: Source) -> list[Row]:
    channels = rec.get("channels") or []
    return [_event(
        t.REQUEST_ACCEPTED, rec["message_id"], rec["created_at"], src,
        message_id=rec["message_id"], organization_id=rec["organization_id"], recipient_id=rec["recipient_id"],
        channel=_s(channels[0] if channels else ""), template=_s((rec.get("content") or {}).get("template")),
        priority=_s(rec.get("priority")), status="accepted", reason=_s(rec.get("source")),
        accepted_at=ts(rec["created_at"]),
    )]


def dispatch_command(rec: Record, src: Source) -> list[Row]:
    common = dict(
        message_id=rec["message_id"], attempt_id=rec["attempt_id"], organization_id=rec["organization_id"],
        recipient_id=rec["recipient_id"], channel=_s(rec["channel"]), provider=_s(rec["provider"]),
        template=_s((rec.get("content") or {}).get("template")), priority=_s(rec.get("priority")),
        hop=int(rec["hop"]), reason=_s(rec.get("reason")), status="routed",
    )
    rows = [_event(t.DISPATCH_ATTEMPT, rec["attempt_id"], rec["routed_at"], src, **common)]
    if int(rec["hop"]) > 0:
        rows.append(_event(t.FALLBACK_HOP, rec["attempt_id"], rec["routed_at"], src, **common))
    return rows


def provider_status(rec: Record, src: Source) -> list[Row]:
    return [_event(
        t.PROVIDER_STATUS, rec["event_id"], rec["occurred_at"], src,
        message_id=_s(rec.get("message_id")), attempt_id=_s(rec.get("attempt_id")),
        recipient_id=_s(rec.get("recipient_id")), channel=_s(rec["channel"]), provider=_s(rec["provider"]),
        provider_message_id=_s(rec["provider_message_id"]), status=_s(rec["status"]),
        error_code=_s(rec.get("error_code")), error_class=_s(rec.get("error_class")),
        price_micros=rec.get("price_micros"), price_currency=_s(rec.get("price_currency")),
        pricing_category=_s(rec.get("pricing_category")),
        billable=None if rec.get("billable") is None else int(bool(rec["billable"])),
    )]


def inbound_message(rec: Record, src: Source) -> list[Row]:
    # sender, text and payload stay out: only who (pseudonym), where and what kind.
    return [_event(
        t.INBOUND_MESSAGE, rec["event_id"], rec["received_at"], src,
        organization_id=_s(rec.get("organization_id")), recipient_id=rec["recipient_id"],
        channel=_s(rec["channel"]), provider=_s(rec["provider"]),
        provider_message_id=_s(rec["provider_message_id"]), status="received", reason=_s(rec.get("kind")),
    )]


def consent_change(rec: Record, src: Source) -> list[Row]:
    state = _s(rec["state"]).lower()  # opted_in / opted_out
    event = _event(
        t.CONSENT_CHANGE, rec["event_id"], rec["occurred_at"], src,
        organization_id=rec["organization_id"], recipient_id=rec["recipient_id"], channel=_s(rec["channel"]),
        status=state, reason=_s(rec.get("reason")) or _s(rec.get("source")),
    )
    audit = _build(t.AUDIT_LOG, {
        "audit_id": rec["event_id"], "occurred_at": ts(rec["occurred_at"]), "actor": f"consent:{_s(rec.get('source'))}",
        "role": "", "organization_id": rec["organization_id"], "action": t.CONSENT_CHANGE,
        "resource": rec["recipient_id"], "outcome": state, "reason": _s(rec.get("reason")), "remote_addr": "",
        "details": {"channel": _s(rec["channel"]), "source": _s(rec.get("source"))}, "source_topic": src.topic,
    })
    return [event, audit]


def delivery_outcome(rec: Record, src: Source) -> list[Row]:
    return [_event(
        t.DELIVERY_OUTCOME, rec["event_id"], rec["occurred_at"], src,
        message_id=rec["message_id"], attempt_id=_s(rec.get("attempt_id")), organization_id=rec["organization_id"],
        recipient_id=rec["recipient_id"], channel=_s(rec.get("channel")), provider=_s(rec.get("provider")),
        status=_s(rec["status"]), previous_status=_s(rec.get("previous_status")), template=_s(rec.get("template")),
        priority=_s(rec.get("priority")), hop=int(rec.get("hop") or 0), is_final=int(bool(rec.get("is_final"))),
        error_code=_s(rec.get("error_code")), reason=_s(rec.get("reason")), accepted_at=_opt_ts(rec.get("accepted_at")),
    )]


def message_state(rec: Record, src: Source) -> list[Row]:
    """The message's row, by the streams' rule (streams/decide/status.py): a late entry (one that did not
    move its attempt's status) feeds no column, and only a message whose status is a failure has
    `failed_at` and `error_code`, from the entry that ended it: a message that was delivered never has
    them, whatever failed before its fallback or arrived after its delivery."""
    status = _s(rec["status"])
    first: dict[str, datetime] = {}
    ended: Record | None = None
    for entry in rec.get("history") or []:
        if entry.get("late"):
            continue
        at = ts(entry["at"])
        name = entry["status"]
        if name not in first or at < first[name]:
            first[name] = at
        if name == status:
            ended = entry

    def earliest(*statuses: str) -> datetime | None:
        seen = [first[s] for s in statuses if s in first]
        return min(seen) if seen else None

    failed = status in FAILED_STATUSES or status in ENDED_STATUSES
    error_code = _s(rec.get("error_code")) or (_s(ended.get("error_code")) if failed and ended else "")
    # Statuses are ranked: a later rank implies the earlier ones happened (read ⇒ delivered ⇒ sent),
    # even when a provider skipped the callback for the lower one.
    return [_build(t.MESSAGE_STATE, {
        "message_id": rec["message_id"], "organization_id": rec["organization_id"],
        "recipient_id": rec["recipient_id"], "status": status, "channel": _s(rec.get("channel")),
        "provider": _s(rec.get("provider")), "hop": int(rec.get("hop") or 0),
        "is_final": int(bool(rec.get("is_final"))), "error_code": error_code if failed else "",
        "accepted_at": ts(rec["created_at"]), "sent_at": earliest("sent", "delivered", "read"),
        "delivered_at": earliest("delivered", "read"), "read_at": earliest("read"),
        "failed_at": ts(ended["at"]) if status in FAILED_STATUSES and ended else None,
        "updated_at": ts(rec["updated_at"]),
    })]


def audit_record(rec: Record, src: Source) -> list[Row]:
    details = {str(k): str(v) for k, v in (rec.get("details") or {}).items()}
    rows = [_build(t.AUDIT_LOG, {
        "audit_id": rec["audit_id"], "occurred_at": ts(rec["occurred_at"]), "actor": rec["actor"],
        "role": _s(rec.get("role")), "organization_id": _s(rec.get("organization_id")), "action": rec["action"],
        "resource": _s(rec.get("resource")), "outcome": rec["outcome"], "reason": _s(rec.get("reason")),
        "remote_addr": _s(rec.get("remote_addr")), "details": details, "source_topic": src.topic,
    })]
    action = str(rec["action"])
    # The loop guard's pause travels as an audit record naming the recipient pseudonym in `resource`.
    # Appointment answers are audited too (`appointment.confirm`, ...) but counted from their
    # CareEvents (`care_event`), so an answer is one event row, never two.
    if action in (t.CONVERSATION_PAUSED, t.CONVERSATION_RESUMED):
        rows.append(_event(
            action, rec["audit_id"], rec["occurred_at"], src, organization_id=_s(rec.get("organization_id")),
            message_id=details.get("message_id", ""), recipient_id=details.get("recipient_id", _s(rec.get("resource"))),
            status=_s(rec["outcome"]), reason=_s(rec.get("reason")),
        ))
    return rows


def care_event(rec: Record, src: Source) -> list[Row]:
    """appointment.confirmed / cancel_requested / reschedule_requested and staff.attention_needed (with its
    reason). The sealed `text` is never read; `details` hold codes and ids only and are not stored."""
    return [_event(
        rec["type"], rec["event_id"], rec["occurred_at"], src, organization_id=rec["organization_id"],
        recipient_id=rec["recipient_id"], message_id=_s(rec.get("message_id")),
        appointment_id=_s(rec.get("appointment_id")), channel=_s(rec.get("channel")), reason=_s(rec.get("reason")),
    )]


def circuit_event(rec: Record, src: Source) -> list[Row]:
    return [_build(t.CHANNEL_HEALTH, {
        "event_id": rec["event_id"], "occurred_at": ts(rec["occurred_at"]),
        "channel_instance": rec["channel_instance"], "provider": rec["provider"], "channel": _s(rec["channel"]),
        "state": rec["state"], "previous_state": rec["previous_state"], "failures": int(rec["failures"]),
    })]


def dead_letter_id(topic: str, partition: int, offset: int) -> str:
    return f"{topic}:{partition}:{offset}"


def dead_letter(rec: Record, src: Source) -> list[Row]:
    """A DeadLetter from any stage of the pipeline (including this sink's own, which collapse with
    the row `undecodable` wrote directly: both use the original record's coordinates as event id)."""
    return [_event(
        t.DEAD_LETTER, dead_letter_id(rec["source_topic"], rec["source_partition"], rec["source_offset"]),
        rec["failed_at"], src, message_id=_s(rec.get("message_id")), status="dead_letter",
        error_code=_s(rec["reason"]), reason=_s(rec["source_topic"]),
    )]


def undecodable(src: Source, reason: str, failed_at: datetime) -> Row:
    """The row for a record this sink could not decode or map; `src` is the bad record itself."""
    return _event(
        t.DEAD_LETTER, dead_letter_id(src.topic, src.partition, src.offset), failed_at, src,
        status="dead_letter", error_code=reason, reason=src.topic,
    )


# Keyed by the topic's value type (schemas.topics.Topic.value_type): which records the sink maps.
MAPPERS: dict[str, Callable[[Record, Source], list[Row]]] = {
    "SendRequest": send_request,
    "DispatchCommand": dispatch_command,
    "ProviderStatus": provider_status,
    "InboundMessage": inbound_message,
    "ConsentChange": consent_change,
    "DeliveryOutcome": delivery_outcome,
    "MessageState": message_state,
    "AuditRecord": audit_record,
    "CircuitEvent": circuit_event,
    "DeadLetter": dead_letter,
    "CareEvent": care_event,
}


def to_rows(value_type: str, rec: Record, src: Source) -> list[Row]:
    return MAPPERS[value_type](rec, src)
