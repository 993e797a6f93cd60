"""The patient page's views: the links (`patient.links`, compacted) and the in-app feed
(`inapp.notifications`) fanned out live to the open pages of this process."""
from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway.console.thread_views import ms
from gateway.patient.links import Link
from gateway.topicview import TopicView
from schemas.codec import AvroCodec

QUEUE_SIZE = 64
Patient = tuple[str, str]  # (organization, recipient pseudonym)


def link_of(record: Mapping[str, Any]) -> Link:
    return Link(record["link_id"], record["organization_id"], record["recipient_id"],
                str(record.get("language") or "es"), ms(record["expires_at"]), record.get("device"))


class LinkView(TopicView):
    """Every link by id: the newest record wins, a tombstone revokes. The records stay whole (the
    sealed number is the sender of the page's replies)."""

    name = "patient link view"

    def __init__(self, bootstrap: str, topic: str, codec: AvroCodec) -> None:
        super().__init__(bootstrap, topic, codec)
        self._records: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def apply(self, key: bytes | None, record: dict[str, Any] | None) -> None:
        with self._lock:
            if record is None:
                if key is not None:
                    self._records.pop(key.decode("utf-8", "replace"), None)
                return
            self._records[record["link_id"]] = record

    def note(self, record: dict[str, Any] | None, link_id: str) -> None:
        """This process's own write, before its record comes back from Kafka."""
        self.apply(link_id.encode(), record)

    def get(self, link_id: str) -> dict[str, Any] | None:
        with self._lock:
            return self._records.get(link_id)


@dataclass(frozen=True)
class InApp:
    """One in-app notification, its body still sealed."""

    notification_id: str
    message_id: str
    organization_id: str
    recipient_id: str
    at_ms: int
    sealed_body: Mapping[str, Any] = field(compare=False, repr=False)


@dataclass(eq=False)
class Subscriber:
    patient: Patient
    queue: asyncio.Queue[InApp | None] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE + 1))


class InAppFeed(TopicView):
    """`inapp.notifications` as it arrives, handed to the open pages of its patient on this process."""

    name = "patient in-app feed"

    def __init__(self, bootstrap: str, topic: str, codec: AvroCodec) -> None:
        super().__init__(bootstrap, topic, codec)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._subs: dict[Patient, set[Subscriber]] = {}

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def apply(self, key: bytes | None, record: dict[str, Any] | None) -> None:
        if record is None:
            return
        body = record["body"]
        item = InApp(record["notification_id"], record["message_id"], record["organization_id"],
                     record["recipient_id"], ms(record["created_at"]), body[1] if isinstance(body, tuple) else body)
        loop, patient = self._loop, (item.organization_id, item.recipient_id)
        if loop is None or not self._subs.get(patient):
            return
        with contextlib.suppress(RuntimeError):  # the loop closed at shutdown
            loop.call_soon_threadsafe(self._fan, patient, item)

    def _fan(self, patient: Patient, item: InApp) -> None:
        for sub in list(self._subs.get(patient, ())):
            if sub.queue.qsize() >= QUEUE_SIZE:  # too slow: its stream ends, the browser reconnects
                self.unsubscribe(sub)
                sub.queue.put_nowait(None)
            else:
                sub.queue.put_nowait(item)

    def subscribe(self, patient: Patient) -> Subscriber:
        sub = Subscriber(patient)
        self._subs.setdefault(patient, set()).add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        subs = self._subs.get(sub.patient)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._subs[sub.patient]
