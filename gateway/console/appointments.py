"""The appointments page's data: today's and upcoming appointments with their reminder plan and the
patient's answer, filtered; one pure call (`build`) over plain records the views hold.

An appointment's answer is the newest answering CareEvent on `appointment.events` (confirmed, cancel
requested, reschedule requested); with none, it is `no_answer` once a reminder was sent (staff may
open the conversation and ask) and `not_asked` while no reminder went out yet.
"""
from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

CONFIRMED = "confirmed"
CANCEL_REQUESTED = "cancel_requested"
RESCHEDULE_REQUESTED = "reschedule_requested"
NO_ANSWER = "no_answer"
NOT_ASKED = "not_asked"
ANSWERS = (CONFIRMED, CANCEL_REQUESTED, RESCHEDULE_REQUESTED, NO_ANSWER, NOT_ASKED)
# appointment.events type -> the answer it records
ANSWER_TYPES: Mapping[str, str] = {
    "appointment.confirmed": CONFIRMED,
    "appointment.cancel_requested": CANCEL_REQUESTED,
    "appointment.reschedule_requested": RESCHEDULE_REQUESTED,
}

KINDS = ("BOOKED", "RESCHEDULED", "CANCELLED", "NOSHOW", "OTHER")
SLOT_STATES = ("scheduled", "sent", "skipped", "cancelled")

TODAY = "today"
UPCOMING = "upcoming"  # from now on, today included
WHEN = (UPCOMING, TODAY)
SHOWN = 200  # rows on one page; the counts say how many matched
CONVERSATION_PATH = "/console/patients/{recipient_id}/conversation"  # gateway.console.conversation_page


@dataclass(frozen=True)
class Reminder:
    name: str
    due_at: int
    state: str  # scheduled, sent, skipped, cancelled
    reason: str | None
    message_id: str | None


@dataclass(frozen=True)
class Plan:
    """The part of an AppointmentPlan record the page shows (no PHI: ids, pseudonym, times, codes)."""
    organization_id: str
    appointment_id: str
    recipient_id: str
    kind: str  # BOOKED, RESCHEDULED, CANCELLED, NOSHOW, OTHER
    start_at: int | None
    timezone: str
    reminders: tuple[Reminder, ...]
    impossible: str | None
    updated_at: int

    @classmethod
    def of(cls, record: Mapping[str, Any]) -> Plan:
        return cls(record["organization_id"], record["appointment_id"], record["recipient_id"], record["kind"],
                   record.get("start_at"), record["timezone"],
                   tuple(Reminder(r["name"], r["due_at"], r["state"], r.get("reason"), r.get("message_id"))
                         for r in record.get("reminders") or ()),
                   record.get("impossible"), record["updated_at"])

    @cached_property
    def sent(self) -> bool:
        return any(r.state == "sent" for r in self.reminders)

    @property
    def order(self) -> tuple[int, str]:
        """Where the plan stands in `build`'s input: by start time (none first: never listed), then id."""
        return (-1 if self.start_at is None else self.start_at), self.appointment_id


@dataclass(frozen=True)
class Answer:
    answer: str  # one of ANSWER_TYPES' values
    occurred_at: int
    event_id: str

    @classmethod
    def of(cls, record: Mapping[str, Any]) -> Answer | None:
        """The answer an appointment.events record carries, or None for another kind of event."""
        answer = ANSWER_TYPES.get(record.get("type") or "")
        if answer is None or not record.get("appointment_id"):
            return None
        return cls(answer, record["occurred_at"], record["event_id"])

    def newer_than(self, other: Answer | None) -> bool:
        return other is None or (self.occurred_at, self.event_id) >= (other.occurred_at, other.event_id)


@dataclass(frozen=True)
class Row:
    plan: Plan
    answer: str
    answered_at: int | None

    @property
    def unanswered(self) -> bool:
        return self.answer == NO_ANSWER

    @property
    def kind(self) -> str:
        """The appointment's status code, OTHER for one this version does not know (shown, never dropped)."""
        return self.plan.kind if self.plan.kind in KINDS else "OTHER"

    @property
    def conversation(self) -> str:
        return CONVERSATION_PATH.format(recipient_id=quote(self.plan.recipient_id, safe=""))


@dataclass(frozen=True)
class Filter:
    when: str = UPCOMING
    answer: str | None = None  # None: every answer

    @classmethod
    def parse(cls, when: str | None, answer: str | None) -> Filter:
        """Unknown values fall back to the defaults (a hand-edited URL still shows a page)."""
        return cls(when if when in WHEN else UPCOMING, answer if answer in ANSWERS else None)


@dataclass(frozen=True)
class Board:
    rows: tuple[Row, ...]  # at most SHOWN, by start time
    matched: int  # rows the filter matched
    counts: Mapping[str, int]  # per answer, within `when` (before the answer filter)
    filter: Filter


def day_bounds(now_ms: int, timezone: str) -> tuple[int, int]:
    """The clinic's local day around `now_ms`, as [start, end) in epoch milliseconds (DST-proof)."""
    zone = ZoneInfo(timezone)
    local = datetime.fromtimestamp(now_ms / 1000, UTC).astimezone(zone)
    start = datetime(local.year, local.month, local.day, tzinfo=zone)
    nxt = local.date() + timedelta(days=1)
    end = datetime(nxt.year, nxt.month, nxt.day, tzinfo=zone)
    return int(start.timestamp() * 1000), int(end.timestamp() * 1000)


def answer_of(plan: Plan, answer: Answer | None) -> str:
    if answer is not None:
        return answer.answer
    return NO_ANSWER if plan.sent else NOT_ASKED


def build(plans: Sequence[Plan], answers: Mapping[str, Answer], now_ms: int, timezone: str,
          chosen: Filter) -> Board:
    """The page: appointments starting today (the clinic's day) or from the start of today on, by start.

    `plans` is in `Plan.order` (PlanIndexView keeps it so): the past is skipped by bisection, nothing is
    sorted per request, and only the rows shown are built; the counts still cover every appointment
    in range.
    """
    day_start, day_end = day_bounds(now_ms, timezone)
    counts = dict.fromkeys(ANSWERS, 0)
    rows: list[Row] = []
    matched = 0
    for i in range(bisect_left(plans, (day_start, ""), key=_order), len(plans)):
        plan = plans[i]
        start = plan.start_at
        if start is None or (chosen.when == TODAY and start >= day_end):
            break
        found = answers.get(plan.appointment_id)
        code = answer_of(plan, found)
        counts[code] += 1
        if chosen.answer is None or chosen.answer == code:
            matched += 1
            if len(rows) < SHOWN:
                rows.append(Row(plan, code, found.occurred_at if found else None))
    return Board(tuple(rows), matched, counts, chosen)


def _order(plan: Plan) -> tuple[int, str]:
    return plan.order
