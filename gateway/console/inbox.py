"""The inbox: a clinic's open staff notices with what people did about them, as pure functions over the
staff-notification view (gateway.staff) and the `staff.actions` view below.

A person's acknowledge / assign / resolve is a StaffAction record on the compacted `staff.actions`
topic (key `organization_id|notice id`: the latest action per notice is what counts). Every gateway
process reads it into memory, so an acknowledged or resolved notice leaves every inbox; an assigned
one stays, saying whose it is.
"""
from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gateway.staff import Notice
from gateway.topicview import TopicView
from schemas.codec import AvroCodec

ACKNOWLEDGED, ASSIGNED, RESOLVED = "acknowledged", "assigned", "resolved"
ACTIONS = (ACKNOWLEDGED, ASSIGNED, RESOLVED)
ATTENTION = "staff.attention_needed"
OTHER = "other"
PAGE_SIZE = 50  # notices per page: each is about 4 KiB of HTML and three forms


@dataclass(frozen=True)
class Handling:
    """The latest thing a person did with one notice."""

    organization_id: str
    notice_id: str
    action: str
    actor: str
    assignee: str | None
    occurred_at: int

    @property
    def closes(self) -> bool:
        return self.action in (ACKNOWLEDGED, RESOLVED)

    @classmethod
    def of(cls, rec: Mapping[str, Any]) -> Handling:
        return cls(rec["organization_id"], rec["notice_id"], rec["action"], rec["actor"], rec.get("assignee"),
                   int(rec["occurred_at"]))

    def record(self) -> dict[str, Any]:
        return {"organization_id": self.organization_id, "notice_id": self.notice_id, "action": self.action,
                "actor": self.actor, "assignee": self.assignee, "occurred_at": self.occurred_at}

    @property
    def key(self) -> str:
        return f"{self.organization_id}|{self.notice_id}"


def reason_of(n: Notice) -> str:
    return n.reason or OTHER


@dataclass(frozen=True)
class Item:
    notice: Notice
    handling: Handling | None

    @property
    def reason(self) -> str:
        return reason_of(self.notice)


@dataclass(frozen=True)
class Inbox:
    items: tuple[Item, ...]  # newest first, one page of at most PAGE_SIZE
    counts: tuple[tuple[str, int], ...]  # open notices per reason, most first, then by name
    total: int  # open notices of every reason
    reason: str | None  # the filter applied
    more: bool  # older open notices follow this page
    page: int = 1  # which page of `matched` this is, from 1 (the newest)
    matched: int = 0  # open notices of the filter
    first: int = 0  # the position of the page's first notice among them, from 0
    size: int = PAGE_SIZE

    @property
    def pages(self) -> int:
        return max(1, -(-self.matched // self.size))


def is_open(h: Handling | None) -> bool:
    return h is None or not h.closes


def build(notices: Sequence[Notice], handled: Mapping[str, Handling], reason: str | None,
          limit: int = PAGE_SIZE, page: int = 1) -> Inbox:
    """One page of the open attention notices (held oldest first), newest first, with the counts per reason.

    Only the page's notices become Items: the rest are counted, so a page costs its own size to render
    whatever the clinic holds (up to CARELAY_GATEWAY_STAFF_VIEW_SIZE)."""
    get = handled.get
    open_notices = [n for n in notices if n.type == ATTENTION and is_open(get(n.event_id))]
    counts = Counter(reason_of(n) for n in open_notices)
    matching = open_notices if reason is None else [n for n in open_notices if reason_of(n) == reason]
    matched = len(matching)
    page = max(1, min(page, -(-matched // limit) or 1))
    first = (page - 1) * limit
    end = matched - first  # newest first: the page is the slice ending `first` from the newest
    shown = tuple(Item(n, get(n.event_id)) for n in reversed(matching[max(0, end - limit):max(0, end)]))
    return Inbox(shown, tuple(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))), len(open_notices), reason,
                 matched > first + limit, page, matched, first, limit)


def parse_page(raw: str | None) -> int:
    """`?page=`: ASCII digits, from 1 (anything else is the first page)."""
    return int(raw) if raw and raw.isascii() and raw.isdigit() and 0 < len(raw) < 6 and int(raw) > 0 else 1


def parse_action(raw: str) -> str | None:
    return raw if raw in ACTIONS else None


def handling_for(action: str, organization_id: str, notice_id: str, username: str, now_ms: int) -> Handling:
    return Handling(organization_id, notice_id, action, username, username if action == ASSIGNED else None, now_ms)


class ActionView(TopicView):
    name = "staff action view"

    def __init__(self, bootstrap: str, topic: str, codec: AvroCodec) -> None:
        super().__init__(bootstrap, topic, codec)
        self._by_org: dict[str, dict[str, Handling]] = {}
        self._lock = threading.Lock()
        self.listeners: list[Callable[[Handling], None]] = []  # consumer thread, each new latest action

    def apply(self, key: bytes | None, record: dict[str, Any] | None) -> None:
        if record is None:
            if key is not None:
                org, _, notice_id = key.decode("utf-8", "replace").partition("|")
                with self._lock:
                    self._by_org.get(org, {}).pop(notice_id, None)
            return
        self.record(Handling.of(record))

    def record(self, h: Handling) -> None:
        """Also called by the process that wrote `h`, once acked, so its own next page already shows it."""
        with self._lock:
            held = self._by_org.setdefault(h.organization_id, {})
            if held.get(h.notice_id) == h:
                return
            held[h.notice_id] = h
        for listener in self.listeners:
            listener(h)

    def handled(self, organization_id: str) -> dict[str, Handling]:
        with self._lock:
            return dict(self._by_org.get(organization_id, {}))

    def get(self, organization_id: str, notice_id: str) -> Handling | None:
        with self._lock:
            return self._by_org.get(organization_id, {}).get(notice_id)
