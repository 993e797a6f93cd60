"""The message-state view: every gateway process reads the compacted message.state topic into memory.

Each process holds every message's state (gateway.topicview: all partitions, no consumer group), so
every worker answers GET /v1/messages/{id} for any message without asking another. The streams write
the topic (the reconciler); this module only reads it. Memory grows with the number of live messages
(a few hundred bytes each); past a few million, move the view to a queryable store.

The view keeps each message's last record as the raw bytes and decodes it on GET: the reconciler
writes a message's state several times (queued, sent, delivered, read), the gateway reads it rarely,
so decoding every update on the consumer thread cost more than all the GETs. Compacted-topic
semantics: the last value per key wins, a tombstone deletes. A record whose wire-format header is
wrong is skipped when it arrives (the previous state stays); one whose body does not decode is
counted and logged on GET and answered as unknown.
"""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from gateway.topicview import TopicView
from schemas.codec import AvroCodec


class MessageStateView(TopicView):
    name = "message state view"

    def __init__(self, bootstrap: str, topic: str, codec: AvroCodec) -> None:
        super().__init__(bootstrap, topic, codec)
        self._states: dict[str, bytes] = {}  # message_id -> the last MessageState record, undecoded

    def get(self, message_id: str) -> dict[str, Any] | None:
        raw = self._states.get(message_id)
        return None if raw is None else self.decode(raw)

    def __len__(self) -> int:
        return len(self._states)

    def has(self, message_id: str) -> bool:
        return message_id in self._states

    def take(self, key: bytes | None, value: bytes | None) -> None:
        if key is None:  # a compacted topic refuses keyless records; should one come, it names its message
            record = None if value is None else self.decode(value)
            if record is not None and value is not None:
                self._states[record["message_id"]] = value
            return
        self.keep_raw(self._states, key.decode("utf-8", "replace"), value)


def iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):  # fastavro reads timestamp-millis as aware datetimes
        return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return datetime.fromtimestamp(int(value) / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


FAILURES = frozenset({"failed", "undelivered", "expired", "cancelled", "blocked"})


def _why(record: dict[str, Any], history: list[dict[str, Any]]) -> dict[str, Any]:
    """The message's reason, error code and next try: as the streams wrote them; for a record written
    before they did, from the non-late history entry that ended a failed, blocked, expired or cancelled
    message (streams.decide.status.explain), never from a late one."""
    if record.get("reason") is not None or record.get("status") not in FAILURES:
        return {"reason": record.get("reason"), "error_code": record.get("error_code"),
                "next_attempt_at": iso(record.get("next_attempt_at"))}
    ended = next((h for h in reversed(history) if not h.get("late") and h["status"] == record["status"]), None)
    return {"reason": ended.get("reason") if ended else None,
            "error_code": record.get("error_code") or (ended.get("error_code") if ended else None),
            "next_attempt_at": None}


# reason -> shown status; `queued`: behind an earlier message to the patient that is still on its way
WAITING = {"send_at": "scheduled", "rate_limited": "held", "quiet_hours": "held", "queued": "held"}


def shown_status(record: dict[str, Any]) -> str:
    """`accepted` that is waiting reads `scheduled` (send_at) or `held` (rate_limited, quiet_hours, queued)."""
    status: str = record["status"]
    if status == "accepted" and not record.get("is_final", False):
        return WAITING.get(record.get("reason") or "", status)
    return status


def present(record: dict[str, Any]) -> dict[str, Any]:
    """The public shape of a MessageState (no recipient pseudonym: callers know their own patient)."""
    history = record.get("history", [])
    return {
        "message_id": record["message_id"],
        "status": shown_status(record),
        **_why(record, history),
        "channel": record.get("channel"),
        "provider": record.get("provider"),
        "provider_message_id": record.get("provider_message_id"),
        "hop": record.get("hop", 0),
        "is_final": record.get("is_final", False),
        "created_at": iso(record.get("created_at")),
        "updated_at": iso(record.get("updated_at")),
        "history": [
            {
                "status": h["status"],
                "at": iso(h["at"]),
                "channel": h.get("channel"),
                "provider": h.get("provider"),
                "attempt_id": h.get("attempt_id"),
                "error_code": h.get("error_code"),
                "source": h.get("source"),
                "reason": h.get("reason"),
                "late": h.get("late", False),
                "attempt": h.get("attempt"),
                "next_attempt_at": iso(h.get("next_attempt_at")),
            }
            for h in history
        ],
    }


def accepted_only(message_id: str, created_at_ms: int) -> dict[str, Any]:
    """What the gateway knows of a message it accepted before the streams reported on it: accepted,
    with that one event in its history."""
    at = iso(created_at_ms)
    return {
        "message_id": message_id, "status": "accepted", "reason": None, "error_code": None,
        "next_attempt_at": None, "channel": None, "provider": None, "provider_message_id": None, "hop": 0,
        "is_final": False, "created_at": at, "updated_at": at,
        "history": [{"status": "accepted", "at": at, "channel": None, "provider": None, "attempt_id": None,
                     "error_code": None, "source": "gateway", "reason": None, "late": False, "attempt": None,
                     "next_attempt_at": None}],
    }
