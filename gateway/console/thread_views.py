"""The conversation page's views: what each gateway process reads into memory to show one patient's
thread (gateway.console.conversation_page) without a store of its own.

- `inbound.messages`: the patient's messages, words and number still sealed;
- `send.requests`: every message to the patient (the API's, the workflows', the AI's, staff replies),
  content still sealed; statuses come from the message-state view (gateway.state) by message id;
- `consent`: the newest change per channel;
- `conversation.commands`: the newest resume per patient (a pause notice older than it is over).

Each keeps, per (organization, patient), the newest `PER_PATIENT` messages each way, so memory is
bounded by patients x that; older ones stay in Kafka. Records are decoded once on the consumer thread
(a patient's page reads them many times). A replay (same event or message id) is kept once. Pages
read a copy under a lock, as the consumer thread changes the lists.
"""
from __future__ import annotations

import bisect
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Generic, TypeVar

from gateway.console.conversation import ALL_CHANNELS, ConsentMark, Inbound, Outbound
from gateway.topicview import TopicView
from schemas.codec import AvroCodec

PER_PATIENT = 500
RESUME = "conversation.resume"  # gateway.conversations.RESUME: the command's CareEvent type

T = TypeVar("T", Inbound, Outbound)
Patient = tuple[str, str]  # (organization, recipient pseudonym)


def ms(value: Any) -> int:
    """fastavro reads timestamp-millis as aware datetimes; older writers' records may hold plain longs."""
    return int(value.timestamp() * 1000) if isinstance(value, datetime) else int(value)


def _sealed(value: Any) -> Any:
    """A sealed value as decoded (a dict), or as this process wrote it (fastavro's (branch, value) tuple)."""
    return value[1] if isinstance(value, tuple) else value


class Newest(Generic[T]):
    """One patient's newest messages one way, in (time, id) order, ids unique."""

    def __init__(self, size: int, ident: Callable[[T], str]) -> None:
        self.size = size
        self.ident: Callable[[T], str] = ident
        self.items: list[T] = []
        self.ids: set[str] = set()

    def add(self, item: T) -> None:
        ident = self.ident(item)
        if ident in self.ids:
            return
        bisect.insort(self.items, item, key=lambda x: (x.at_ms, self.ident(x)))
        self.ids.add(ident)
        if len(self.items) > self.size:
            self.ids.discard(self.ident(self.items.pop(0)))


class _PerPatient(TopicView, Generic[T]):
    def __init__(self, bootstrap: str, topic: str, codec: AvroCodec, ident: Callable[[T], str],
                 size: int = PER_PATIENT) -> None:
        super().__init__(bootstrap, topic, codec)
        self._size = size
        self._ident: Callable[[T], str] = ident
        self._by: dict[Patient, Newest[T]] = {}
        self._lock = threading.Lock()

    def put(self, patient: Patient, item: T) -> None:
        with self._lock:
            kept = self._by.get(patient)
            if kept is None:
                kept = self._by[patient] = Newest(self._size, self._ident)
            kept.add(item)

    def of(self, organization_id: str, recipient_id: str) -> list[T]:
        """The patient's messages held, oldest first (another organization's: none)."""
        with self._lock:
            kept = self._by.get((organization_id, recipient_id))
            return list(kept.items) if kept is not None else []


class InboundView(_PerPatient[Inbound]):
    name = "conversation inbound view"

    def __init__(self, bootstrap: str, topic: str, codec: AvroCodec, size: int = PER_PATIENT) -> None:
        super().__init__(bootstrap, topic, codec, lambda m: m.event_id, size)

    def apply(self, key: bytes | None, record: dict[str, Any] | None) -> None:
        if record is None or not record.get("organization_id"):
            return  # an inbound no clinic number claimed belongs to no organization's thread
        org, rid = record["organization_id"], record["recipient_id"]
        self.put((org, rid), Inbound(record["event_id"], org, ms(record["received_at"]), str(record["channel"]),
                                     str(record.get("kind") or "OTHER"), record.get("text"), record.get("sender"),
                                     record.get("payload")))


class OutboundView(_PerPatient[Outbound]):
    name = "conversation outbound view"

    def __init__(self, bootstrap: str, topic: str, codec: AvroCodec, size: int = PER_PATIENT) -> None:
        super().__init__(bootstrap, topic, codec, lambda m: m.message_id, size)

    def apply(self, key: bytes | None, record: dict[str, Any] | None) -> None:
        if record is None:
            return
        org, rid = record["organization_id"], record["recipient_id"]
        content = record.get("content") or {}
        self.put((org, rid), Outbound(
            record["message_id"], org, ms(record["created_at"]), str(record.get("source") or ""),
            bool(record.get("automated_reply")), tuple(str(c) for c in record.get("channels") or ()),
            content.get("template"), str(content.get("language") or ""), _sealed(content.get("text")),
            _sealed(content.get("params")), _sealed(record.get("recipient")),
            (record.get("metadata") or {}).get("console_user")))


class ConsentView(TopicView):
    """The newest consent change per (organization, patient, channel); the topic is compacted by that key."""

    name = "conversation consent view"

    def __init__(self, bootstrap: str, topic: str, codec: AvroCodec) -> None:
        super().__init__(bootstrap, topic, codec)
        self._by: dict[Patient, dict[str, ConsentMark]] = {}
        self._lock = threading.Lock()

    def apply(self, key: bytes | None, record: dict[str, Any] | None) -> None:
        if record is None:  # a tombstone: its key names (organization, patient, channel)
            parts = key.decode("utf-8", "replace").split("|") if key else []
            if len(parts) == 3:
                with self._lock:
                    self._by.get((parts[0], parts[1]), {}).pop(parts[2], None)
            return
        channel = str(record["channel"]) or ALL_CHANNELS
        mark = ConsentMark(channel, record["state"] == "OPTED_IN", ms(record["occurred_at"]),
                           str(record.get("source") or ""))
        with self._lock:
            marks = self._by.setdefault((record["organization_id"], record["recipient_id"]), {})
            held = marks.get(channel)
            if held is None or held.at_ms <= mark.at_ms:
                marks[channel] = mark

    def of(self, organization_id: str, recipient_id: str) -> Mapping[str, ConsentMark]:
        with self._lock:
            return dict(self._by.get((organization_id, recipient_id), {}))


class ResumeView(TopicView):
    """When staff last asked to resume each patient's conversation (`conversation.commands`)."""

    name = "conversation command view"

    def __init__(self, bootstrap: str, topic: str, codec: AvroCodec) -> None:
        super().__init__(bootstrap, topic, codec)
        self._resumed: dict[Patient, int] = {}
        self._lock = threading.Lock()

    def apply(self, key: bytes | None, record: dict[str, Any] | None) -> None:
        if record is None or record.get("type") != RESUME:
            return
        patient, at = (record["organization_id"], record["recipient_id"]), ms(record["occurred_at"])
        with self._lock:
            self._resumed[patient] = max(at, self._resumed.get(patient, at))

    def note(self, organization_id: str, recipient_id: str, at_ms: int) -> None:
        """This process's own command, before its record comes back from Kafka."""
        self.apply(None, {"type": RESUME, "organization_id": organization_id, "recipient_id": recipient_id,
                          "occurred_at": at_ms})

    def resumed_at(self, organization_id: str, recipient_id: str) -> int | None:
        with self._lock:
            return self._resumed.get((organization_id, recipient_id))


class ConversationViews:
    """The four views, started, stopped and waited for (`loaded`) with the console's others."""

    def __init__(self, bootstrap: str, topics: Any) -> None:
        self.inbound = InboundView(bootstrap, topics.inbound.name, topics.inbound.codec)
        self.outbound = OutboundView(bootstrap, topics.send_requests.name, topics.send_requests.codec)
        self.consent = ConsentView(bootstrap, topics.consent.name, topics.consent.codec)
        self.resumes = ResumeView(bootstrap, topics.conversations.name, topics.conversations.codec)

    @property
    def views(self) -> tuple[TopicView, ...]:
        return self.inbound, self.outbound, self.consent, self.resumes
