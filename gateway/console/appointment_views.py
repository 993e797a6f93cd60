"""The appointments page's views: reminder plans per organization (`appointment.plans`) and the newest
answer per appointment (`appointment.events`), each read into memory by every gateway process.

Plans are decoded once as they arrive and indexed by organization, each clinic's kept in start order,
so a page lists one clinic's appointments without decoding, scanning another's or sorting
(gateway.plans keeps raw bytes for GET by id).
Pages take a snapshot under a lock: the consumer thread changes the dicts while pages read them.
"""
from __future__ import annotations

import threading
from bisect import bisect_left, insort
from typing import Any

from gateway.console.appointments import Answer, Plan
from gateway.topicview import TopicView
from schemas.codec import AvroCodec


class Plans:
    """One organization's plans: by appointment id, and in `Plan.order`."""

    def __init__(self) -> None:
        self.by_id: dict[str, Plan] = {}
        self.ordered: list[Plan] = []

    def put(self, plan: Plan) -> None:
        self.drop(plan.appointment_id)
        self.by_id[plan.appointment_id] = plan
        insort(self.ordered, plan, key=_order)

    def drop(self, appointment_id: str) -> None:
        old = self.by_id.pop(appointment_id, None)
        if old is not None:
            del self.ordered[bisect_left(self.ordered, old.order, key=_order)]


def _order(plan: Plan) -> tuple[int, str]:
    return plan.order


class PlanIndexView(TopicView):
    name = "console appointment plans view"

    def __init__(self, bootstrap: str, topic: str, codec: AvroCodec) -> None:
        super().__init__(bootstrap, topic, codec)
        self._lock = threading.Lock()
        self._by_org: dict[str, Plans] = {}
        self._org_of: dict[str, str] = {}  # record key -> organization (a tombstone carries only the key)

    def plans(self, organization_id: str) -> list[Plan]:
        """The organization's plans in `Plan.order` (what gateway.console.appointments.build takes)."""
        with self._lock:
            held = self._by_org.get(organization_id)
            return list(held.ordered) if held is not None else []

    def apply(self, key: bytes | None, record: dict[str, Any] | None) -> None:
        name = key.decode("utf-8", "replace") if key is not None else None
        with self._lock:
            if record is None:
                org = self._org_of.pop(name, None) if name is not None else None
                if org is not None and name is not None and org in self._by_org:
                    self._by_org[org].drop(name.partition("|")[2])
                return
            plan = Plan.of(record)
            self._by_org.setdefault(plan.organization_id, Plans()).put(plan)
            if name is not None:
                self._org_of[name] = plan.organization_id


class AnswerView(TopicView):
    name = "console appointment answers view"

    def __init__(self, bootstrap: str, topic: str, codec: AvroCodec) -> None:
        super().__init__(bootstrap, topic, codec)
        self._lock = threading.Lock()
        self._by_org: dict[str, dict[str, Answer]] = {}

    def answers(self, organization_id: str) -> dict[str, Answer]:
        with self._lock:
            return dict(self._by_org.get(organization_id, {}))

    def apply(self, key: bytes | None, record: dict[str, Any] | None) -> None:
        if record is None:
            return  # appointment.events is not compacted: no tombstones
        answer = Answer.of(record)
        if answer is None:
            return
        with self._lock:
            held = self._by_org.setdefault(record["organization_id"], {})
            if answer.newer_than(held.get(record["appointment_id"])):
                held[record["appointment_id"]] = answer
