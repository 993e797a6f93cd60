"""What the appointments topic says about each appointment, for the FHIR door: new or update, moved or not.

Kafka is the only source of truth: every gateway process reads the `appointments` topic into memory
(gateway.topicview: all partitions, from the beginning, no consumer group) and keeps, per
(organization, appointment id), the last start it carried. A PUT of an appointment the topic does not
hold is a create (`201`), else an update (`200`); a BOOKED whose start differs from the one held is
RESCHEDULED (a hint: the streams re-derive it from the start they hold).

The topic view trails the topic by the time a record takes to come back (milliseconds), so the door
also notes each appointment it publishes the moment it submits it (`swap`), and takes the note back
if Kafka refused the record (`restore`): a process never answers 201 twice for its own appointment.
Two processes taking the first PUT of one appointment within that lag may both answer 201. The
topic keeps 30 days: an appointment last written longer ago than that is new again. Memory grows
with the appointments the topic holds (about 150 bytes each).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gateway.topicview import TopicView
from schemas.codec import AvroCodec


@dataclass(frozen=True)
class Seen:
    """What was known of one appointment before this write: whether any record named it, its last start."""

    known: bool
    start_at_ms: int | None = None


UNSEEN = Seen(False)


@dataclass(frozen=True)
class Decision:
    created: bool                # 201 Created, else 200 OK
    kind: str                    # the AppointmentEvent kind to publish
    previous_start_at_ms: int | None


def decide(seen: Seen, kind: str, start_at_ms: int | None) -> Decision:
    """New or update, and BOOKED -> RESCHEDULED when the start moved (pure)."""
    moved = seen.known and seen.start_at_ms is not None and start_at_ms is not None \
        and seen.start_at_ms != start_at_ms
    return Decision(
        created=not seen.known,
        kind="RESCHEDULED" if kind == "BOOKED" and moved else kind,
        previous_start_at_ms=seen.start_at_ms if moved else None,
    )


def _ms(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, datetime):  # fastavro reads timestamp-millis as aware datetimes
        return int(value.timestamp() * 1000)
    return int(value)


class AppointmentView(TopicView):
    name = "appointment view"

    def __init__(self, bootstrap: str, topic: str, codec: AvroCodec) -> None:
        super().__init__(bootstrap, topic, codec)
        self._starts: dict[tuple[str, str], int | None] = {}
        self._lock = threading.Lock()  # the consumer thread and the event loop both write

    def __len__(self) -> int:
        return len(self._starts)

    def apply(self, key: bytes | None, record: dict[str, Any] | None) -> None:
        if record is None:  # the topic is not compacted: a tombstone names nothing
            return
        with self._lock:
            self._starts[(record["organization_id"], record["appointment_id"])] = _ms(record.get("start_at"))

    def seen(self, organization_id: str, appointment_id: str) -> Seen:
        key = (organization_id, appointment_id)
        with self._lock:
            return Seen(True, self._starts[key]) if key in self._starts else UNSEEN

    def swap(self, organization_id: str, appointment_id: str, start_at_ms: int | None) -> Seen:
        """Note a write being published; answer what was known before it (atomically)."""
        key = (organization_id, appointment_id)
        with self._lock:
            before = Seen(True, self._starts[key]) if key in self._starts else UNSEEN
            self._starts[key] = start_at_ms
        return before

    def restore(self, organization_id: str, appointment_id: str, before: Seen) -> None:
        """Take back a note whose record Kafka did not take."""
        key = (organization_id, appointment_id)
        with self._lock:
            if before.known:
                self._starts[key] = before.start_at_ms
            else:
                self._starts.pop(key, None)
