"""The message-state view: every gateway process reads the compacted message.state topic into memory.

Each process holds every message's state (gateway.topicview: all partitions, no consumer group), so
every worker answers GET /v1/messages/{id} for any message without asking another. The streams write
the topic (the reconciler); this module only reads it. Memory grows with the number of live messages
(a few hundred bytes each); past a few million, move the view to a queryable store.
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
        self._states: dict[str, dict[str, Any]] = {}

    def get(self, message_id: str) -> dict[str, Any] | None:
        return self._states.get(message_id)

    def __len__(self) -> int:
        return len(self._states)

    def apply(self, key: bytes | None, record: dict[str, Any] | None) -> None:
        if record is None:  # tombstone: the state was deleted
            if key is not None:
                self._states.pop(key.decode("utf-8", "replace"), None)
            return
        self._states[record["message_id"]] = record


def iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):  # fastavro reads timestamp-millis as aware datetimes
        return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return datetime.fromtimestamp(int(value) / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def present(record: dict[str, Any]) -> dict[str, Any]:
    """The public shape of a MessageState (no recipient pseudonym: callers know their own patient)."""
    return {
        "message_id": record["message_id"],
        "status": record["status"],
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
            }
            for h in record.get("history", [])
        ],
    }


def accepted_only(message_id: str, created_at_ms: int) -> dict[str, Any]:
    """What this worker knows of a message it accepted before the streams reported on it."""
    return {
        "message_id": message_id, "status": "accepted", "channel": None, "provider": None,
        "provider_message_id": None, "hop": 0, "is_final": False, "created_at": iso(created_at_ms),
        "updated_at": iso(created_at_ms), "history": [],
    }
