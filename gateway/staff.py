"""The staff-notification view behind GET /v1/staff/notifications (gateway.reads): the CareEvents
that need a person, per organization, the newest kept in memory.

The streams publish them on `staff.notifications` (unclear replies, cancel and reschedule requests,
loop-guard pauses, failed urgent notices, AI timeouts). Every gateway process reads that topic into a
bounded view: the newest `CARELAY_GATEWAY_STAFF_VIEW_SIZE` per organization, ordered by occurrence
time and event id; an older one is dropped from memory (the topic keeps 30 days). Event ids are
deterministic, so a replayed notification collapses into the one already held.

What a key sees: its own organization only, without the patient's words. `text` is held sealed, as
it came, for the staff console's patient page (gateway/console/patient_page.py), which opens it per
view for the staff role and audits each view; this API answers only `has_text` (there are words).
Ids are pseudonyms (recipient) and the clinic's own references (appointment, message), never numbers
or names.
"""
from __future__ import annotations

import bisect
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gateway.body import is_ascii_digits
from gateway.errors import InvalidField
from gateway.state import iso
from gateway.topicview import TopicView
from gateway.validation import parse_timestamp
from schemas.codec import AvroCodec

PATH = "/v1/staff/notifications"
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
QUERY_PARAMS = frozenset({"since", "after", "limit"})


@dataclass(frozen=True)
class Notice:
    """One staff notification as the gateway keeps it: no sealed text, only whether there was one."""

    occurred_at: int  # epoch millis
    event_id: str
    organization_id: str
    type: str
    reason: str | None
    recipient_id: str
    appointment_id: str | None
    message_id: str | None
    channel: str
    language: str | None
    has_text: bool
    details: tuple[tuple[str, str], ...]
    sealed_text: Mapping[str, Any] | None = field(default=None, compare=False, hash=False, repr=False)

    @property
    def order(self) -> tuple[int, str]:
        return self.occurred_at, self.event_id

    @classmethod
    def of(cls, rec: Mapping[str, Any]) -> Notice:
        occurred = rec["occurred_at"]
        ms = occurred if isinstance(occurred, int) else int(occurred.timestamp() * 1000)
        return cls(ms, rec["event_id"], rec["organization_id"], rec["type"], rec.get("reason"),
                   rec["recipient_id"], rec.get("appointment_id"), rec.get("message_id"),
                   str(rec.get("channel") or "UNKNOWN"), rec.get("language"), rec.get("text") is not None,
                   tuple(sorted((rec.get("details") or {}).items())), rec.get("text"))


@dataclass(frozen=True)
class StaffQuery:
    since: int | None  # epoch millis, inclusive; None: everything held
    limit: int
    after: tuple[int, str] | None = None  # (epoch millis, event id), exclusive: the cursor of the page before


def cursor(n: Notice) -> str:
    """The `after` that continues right after `n`: the held order is (time, event id), so paging by it
    skips nothing and repeats nothing, however many notices share a millisecond."""
    return f"{n.occurred_at}:{n.event_id}"


def parse_cursor(raw: str) -> tuple[int, str]:
    ms, _, event_id = raw.partition(":")
    if not is_ascii_digits(ms) or not event_id or len(raw) > 300:
        raise InvalidField("must be a next_after value from an earlier page", field="after")
    return int(ms), event_id


def parse_query(params: Mapping[str, str]) -> StaffQuery:
    """`since` (RFC 3339 with offset, inclusive) or `after` (a page's `next_after`, exclusive), and
    `limit` (1..MAX_LIMIT); anything else is refused."""
    unknown = sorted(set(params) - QUERY_PARAMS)
    if unknown:
        raise InvalidField("unknown query parameter", field=unknown[0][:64])
    if "since" in params and "after" in params:
        raise InvalidField("give since or after, not both", field="after")
    since = parse_timestamp(params.get("since"), "since")
    after = parse_cursor(params["after"]) if "after" in params else None
    raw = params.get("limit")
    limit = DEFAULT_LIMIT
    if raw is not None:
        if not is_ascii_digits(raw) or not 1 <= int(raw) <= MAX_LIMIT:
            raise InvalidField(f"must be an integer from 1 to {MAX_LIMIT}", field="limit")
        limit = int(raw)
    return StaffQuery(since, limit, after)


def select(held: Sequence[Notice], q: StaffQuery) -> tuple[list[Notice], bool]:
    """The oldest `limit` notices at or after `since`, or after the `after` cursor (held is sorted by
    `order`), and whether more follow."""
    if q.after is not None:
        start = bisect.bisect_right(held, q.after, key=lambda n: n.order)
    else:
        start = 0 if q.since is None else bisect.bisect_left(held, (q.since, ""), key=lambda n: n.order)
    chosen = list(held[start:start + q.limit])
    return chosen, start + q.limit < len(held)


def present(n: Notice) -> dict[str, Any]:
    return {
        "event_id": n.event_id, "type": n.type, "reason": n.reason, "occurred_at": iso(n.occurred_at),
        "recipient_id": n.recipient_id, "appointment_id": n.appointment_id, "message_id": n.message_id,
        "channel": n.channel, "language": n.language, "has_text": n.has_text, "details": dict(n.details),
    }


class Recent:
    """The newest `size` notices of one organization, sorted by (occurred_at, event_id), ids unique."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.items: list[Notice] = []
        self.ids: set[str] = set()

    def add(self, n: Notice) -> bool:
        """Whether `n` is new (a replay, or one older than every notice held when full, is not)."""
        if n.event_id in self.ids:  # a replayed notification: same deterministic id
            return False
        bisect.insort(self.items, n, key=lambda x: x.order)
        self.ids.add(n.event_id)
        if len(self.items) > self.size:
            dropped = self.items.pop(0)
            self.ids.discard(dropped.event_id)
            return dropped is not n
        return True


class StaffNotificationView(TopicView):
    name = "staff notification view"

    def __init__(self, bootstrap: str, topic: str, codec: AvroCodec, size: int) -> None:
        super().__init__(bootstrap, topic, codec)
        self._size = size
        self._by_org: dict[str, Recent] = {}
        self._lock = threading.Lock()  # the consumer thread writes, request handlers read
        # called on the consumer thread with each new notice (the console's live inbox, gateway.console.hub)
        self.listeners: list[Callable[[Notice], None]] = []

    def apply(self, key: bytes | None, record: dict[str, Any] | None) -> None:
        if record is None:
            return
        n = Notice.of(record)
        with self._lock:
            added = self._by_org.setdefault(n.organization_id, Recent(self._size)).add(n)
        if added:
            for listener in self.listeners:
                listener(n)

    def held(self, organization_id: str) -> list[Notice]:
        """Every notice held for the organization, oldest first."""
        with self._lock:
            recent = self._by_org.get(organization_id)
            return list(recent.items) if recent is not None else []

    def list(self, organization_id: str, q: StaffQuery) -> tuple[list[Notice], bool]:
        with self._lock:
            held = self._by_org.get(organization_id)
            return select(held.items, q) if held is not None else ([], False)
