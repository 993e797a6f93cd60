"""Reminder schedules: which reminders an appointment gets, when, and what happens to them on change.

State per appointment (`Planned`, kept in a table keyed `recipient_id|appointment_id`, so it survives
restarts through the table's changelog) and pure transitions:

- `on_event` applies an AppointmentEvent. The kind the writer gave is a hint: the streams compare
  the new start with the one they hold and decide themselves whether it is a reschedule (the
  gateway's per-process memory cannot know what another gateway process saw).
- `due` returns the reminders whose time has come, as plain data for a SendRequest.
- `cancel_all` (opt-out) cancels what is pending.

Placement rules: each offset (default 24 h and 2 h) before the start; a reminder that would fall in
the patient's quiet hours moves EARLIER, to `QUIET_MARGIN_MS` before the quiet period began (the
margin leaves room for a rate-limit delay and a fallback hop to land before the quiet period); a
reminder whose time has already passed when it is planned is skipped, never sent late; one that
lands within `MIN_GAP_MS` of a reminder already kept is dropped (two messages in an hour say nothing
new). Urgent appointments ignore quiet hours.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum

from streams.care.clock import HOUR_MS, MINUTE_MS, QuietHours, format_date, format_time, zone

QUIET_MARGIN_MS = 30 * MINUTE_MS
MIN_GAP_MS = HOUR_MS
REMINDER_TEMPLATE = "appointment_reminder"
RESCHEDULED_TEMPLATE = "appointment_rescheduled"
# Template parameters the agent fills from sealed fields of the AppointmentEvent: never in state.
SEALED_PARAMS = ("patient_name",)
GENERIC_CLINIC = {"es": "su clínica", "en": "your clinic", "pt": "sua clínica"}


class Kind(StrEnum):
    BOOKED = "BOOKED"
    RESCHEDULED = "RESCHEDULED"
    CANCELLED = "CANCELLED"
    NOSHOW = "NOSHOW"
    OTHER = "OTHER"


class SlotState(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    SKIPPED = "skipped"      # never sent: past when planned, collapsed, or too late
    CANCELLED = "cancelled"  # appointment cancelled / no-show, or the patient opted out


@dataclass(frozen=True)
class SchedulePolicy:
    """One organization's rules (CareSettings.for_org + reminder offsets)."""

    timezone: str = "America/Mexico_City"
    quiet: QuietHours = field(default_factory=QuietHours)
    offsets_s: tuple[int, ...] = (24 * 3600, 2 * 3600)
    min_gap_ms: int = MIN_GAP_MS  # two kept reminders closer than this collapse into the first


@dataclass(frozen=True)
class Slot:
    name: str           # "24h", "2h", "90m": the offset, as ids and analytics name it
    offset_s: int
    due_at_ms: int
    state: SlotState = SlotState.PENDING
    reason: str | None = None  # why it moved, was skipped or cancelled: quiet_hours, past, collapsed, ...


@dataclass(frozen=True)
class Planned:
    """What the streams know of one appointment; no PHI (names and numbers stay in the sealed event)."""

    appointment_id: str
    organization_id: str
    recipient_id: str
    kind: Kind
    start_at_ms: int | None
    timezone: str
    language: str
    clinic: str | None
    updated_at_ms: int     # occurred_at of the newest event applied: older events are ignored
    slots: tuple[Slot, ...] = ()
    urgent: bool = False

    def pending(self) -> tuple[Slot, ...]:
        return tuple(s for s in self.slots if s.state is SlotState.PENDING)

    def next_due_ms(self) -> int | None:
        return min((s.due_at_ms for s in self.pending()), default=None)


@dataclass(frozen=True)
class Appointment:
    """The non-PHI facts of an AppointmentEvent, as the agent hands them in."""

    appointment_id: str
    organization_id: str
    recipient_id: str
    kind: Kind
    start_at_ms: int | None
    occurred_at_ms: int
    language: str = "es"
    timezone: str | None = None
    clinic: str | None = None
    urgent: bool = False


@dataclass(frozen=True)
class Due:
    """A reminder to send now, as plain data for a SendRequest (the agent adds SEALED_PARAMS)."""

    appointment_id: str
    organization_id: str
    recipient_id: str
    offset_name: str
    due_at_ms: int
    template: str
    language: str
    params: tuple[tuple[str, str], ...]
    idempotency_key: str  # stable: a replayed decision publishes the same send, dropped by dedup
    urgent: bool = False


@dataclass(frozen=True)
class Change:
    """What applying an event means, besides the new state."""

    planned: Planned | None
    ignored: str | None = None           # stale, duplicate: nothing changed
    rescheduled_from_ms: int | None = None
    cancelled: tuple[str, ...] = ()      # slot names cancelled
    notify: Due | None = None            # e.g. the "your appointment moved" message


def offset_name(offset_s: int) -> str:
    if offset_s % 3600 == 0:
        return f"{offset_s // 3600}h"
    return f"{offset_s // 60}m" if offset_s % 60 == 0 else f"{offset_s}s"


def place(start_at_ms: int, offset_s: int, policy: SchedulePolicy, tz_name: str | None, now_ms: int,
          *, urgent: bool = False) -> Slot:
    """One reminder's slot: offset before the start, moved earlier out of quiet hours, skipped if past."""
    tz = zone(tz_name, policy.timezone)
    name = offset_name(offset_s)
    due = start_at_ms - offset_s * 1000
    reason = None
    if not urgent and policy.quiet.contains(due, tz):
        due = policy.quiet.began_at(due, tz) - QUIET_MARGIN_MS
        reason = "quiet_hours"
    if due <= now_ms:
        return Slot(name, offset_s, due, SlotState.SKIPPED, "past")
    return Slot(name, offset_s, due, SlotState.PENDING, reason)


def plan(appt: Appointment, policy: SchedulePolicy, now_ms: int) -> tuple[Slot, ...]:
    """The slots of a booked appointment, furthest offset first."""
    if appt.start_at_ms is None:
        return ()
    slots: list[Slot] = []
    for offset in sorted(set(policy.offsets_s), reverse=True):
        slot = place(appt.start_at_ms, offset, policy, appt.timezone, now_ms, urgent=appt.urgent)
        kept = [s.due_at_ms for s in slots if s.state is SlotState.PENDING]
        if slot.state is SlotState.PENDING and any(abs(slot.due_at_ms - k) < policy.min_gap_ms for k in kept):
            slot = replace(slot, state=SlotState.SKIPPED, reason="collapsed")
        slots.append(slot)
    return tuple(slots)


def _cancel(slots: tuple[Slot, ...], reason: str) -> tuple[tuple[Slot, ...], tuple[str, ...]]:
    out, names = [], []
    for s in slots:
        if s.state is SlotState.PENDING:
            out.append(replace(s, state=SlotState.CANCELLED, reason=reason))
            names.append(s.name)
        else:
            out.append(s)
    return tuple(out), tuple(names)


def on_event(current: Planned | None, appt: Appointment, policy: SchedulePolicy, now_ms: int,
             *, opted_out: bool = False) -> Change:
    """Apply one appointment event. Events older than the state (by occurred_at) change nothing."""
    if current is not None and appt.occurred_at_ms <= current.updated_at_ms:
        return Change(current, ignored="stale")
    tz_name = appt.timezone or (current.timezone if current else None) or policy.timezone
    base = Planned(appt.appointment_id, appt.organization_id, appt.recipient_id, appt.kind, appt.start_at_ms,
                   tz_name, appt.language, appt.clinic, appt.occurred_at_ms, (), appt.urgent)
    if appt.kind in (Kind.CANCELLED, Kind.NOSHOW):
        slots, names = _cancel(current.slots if current else (), appt.kind.value.lower())
        return Change(replace(base, start_at_ms=appt.start_at_ms or (current.start_at_ms if current else None),
                              slots=slots), cancelled=names)
    if appt.kind is Kind.OTHER:
        # arrived, fulfilled, ...: nothing left to remind
        slots, names = _cancel(current.slots if current else (), "status_" + appt.kind.value.lower())
        return Change(replace(base, slots=slots), cancelled=names)
    # BOOKED or RESCHEDULED: the start we hold decides which one it really is
    active = current is not None and current.kind in (Kind.BOOKED, Kind.RESCHEDULED)
    previous = current.start_at_ms if current is not None and active else None
    if current is not None and active and previous == appt.start_at_ms:
        return Change(replace(current, updated_at_ms=appt.occurred_at_ms, language=appt.language,
                              clinic=appt.clinic or current.clinic, timezone=tz_name), ignored="unchanged")
    moved = previous is not None and appt.start_at_ms is not None
    kind = Kind.RESCHEDULED if moved else Kind.BOOKED
    old_slots = current.slots if current is not None else ()
    cancelled = tuple(s.name for s in old_slots if s.state is SlotState.PENDING)
    if opted_out:
        return Change(replace(base, kind=kind), rescheduled_from_ms=previous, cancelled=cancelled)
    fresh = plan(appt, policy, now_ms)
    if current is not None and current.start_at_ms == appt.start_at_ms:
        # rebooked at the same start after a cancellation: what was sent for that start is not sent again
        sent = {s.name for s in old_slots if s.state is SlotState.SENT}
        fresh = tuple(replace(s, state=SlotState.SKIPPED, reason="already_sent") if s.name in sent else s
                      for s in fresh)
    planned = replace(base, kind=kind, slots=fresh)
    notify = _notice(planned, policy, RESCHEDULED_TEMPLATE, "moved", now_ms) if moved else None
    return Change(planned, rescheduled_from_ms=previous, cancelled=cancelled if moved else (), notify=notify)


def params(planned: Planned, policy: SchedulePolicy) -> tuple[tuple[str, str], ...]:
    """The non-PHI parameters of the reminder templates: clinic, date, time, in the patient's language."""
    if planned.start_at_ms is None:
        return ()
    tz = zone(planned.timezone, policy.timezone)
    lang = planned.language if planned.language in GENERIC_CLINIC else "es"
    return (("clinic", planned.clinic or GENERIC_CLINIC[lang]),
            ("date", format_date(planned.start_at_ms, tz, lang)),
            ("time", format_time(planned.start_at_ms, tz, lang)))


def _notice(planned: Planned, policy: SchedulePolicy, template: str, name: str, now_ms: int) -> Due:
    return Due(planned.appointment_id, planned.organization_id, planned.recipient_id, name, now_ms, template,
               planned.language, params(planned, policy),
               reminder_key(planned, name), planned.urgent)


def due(planned: Planned, policy: SchedulePolicy, now_ms: int) -> tuple[Planned, tuple[Due, ...]]:
    """Reminders whose time has come, marked sent in the returned state.

    A slot found due after the appointment started is skipped (`late`): it can only confuse. One
    found due inside quiet hours (the worker was down when it fell due) waits for the quiet period
    to end if that is still before the start, else is skipped.
    """
    if planned.start_at_ms is None or planned.kind not in (Kind.BOOKED, Kind.RESCHEDULED):
        return planned, ()
    tz = zone(planned.timezone, policy.timezone)
    out: list[Due] = []
    slots: list[Slot] = []
    for s in planned.slots:
        if s.state is not SlotState.PENDING or s.due_at_ms > now_ms:
            slots.append(s)
            continue
        if now_ms >= planned.start_at_ms:
            slots.append(replace(s, state=SlotState.SKIPPED, reason="late"))
            continue
        if not planned.urgent and policy.quiet.contains(now_ms, tz):
            resume = policy.quiet.ends_at(now_ms, tz)
            if resume < planned.start_at_ms:
                slots.append(replace(s, due_at_ms=resume, reason="quiet_hours_late"))
            else:
                slots.append(replace(s, state=SlotState.SKIPPED, reason="late"))
            continue
        slots.append(replace(s, state=SlotState.SENT))
        out.append(Due(planned.appointment_id, planned.organization_id, planned.recipient_id, s.name, s.due_at_ms,
                       REMINDER_TEMPLATE, planned.language, params(planned, policy),
                       reminder_key(planned, s.name), planned.urgent))
    return replace(planned, slots=tuple(slots)), tuple(out)


def reminder_key(planned: Planned, slot_name: str) -> str:
    """A reminder's idempotency key: from the plan (appointment, offset, start), so a timer firing
    again after a crash asks for the same send (intake makes it a replay)."""
    return f"appt:{planned.appointment_id}:{slot_name}:{planned.start_at_ms}"


def cancel_all(planned: Planned, reason: str = "opted_out") -> Planned:
    """The patient opted out (or staff stopped the reminders): nothing pending goes out."""
    slots, _ = _cancel(planned.slots, reason)
    return replace(planned, slots=slots)
