"""Appointments agent (appointments) and the reminder timer: each appointment's reminder plan
(streams.care.schedule) lives in the patient record (`Patient.appointments`), so it follows the
patient's partition and changelog; the timer turns due reminders into SendRequests.

A reminder's message id and idempotency key derive from its plan (appointment, offset, start), so a
timer that fires again after a crash (its changelog write lost) asks for the same send, which intake
recognises as a replay: never a second message. Intake opens the patient's question
(`Patient.question`, with the appointment id) when it accepts the reminder, so replies are read
against it by the inbound agent.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace

from faust.types import EventT

from schemas.phi import Binding
from streams import convert
from streams.agents.base import Handler, PatientDeadlines, View
from streams.care import plans, schedule
from streams.care.clock import QuietHours
from streams.care.schedule import Appointment, Due, Kind, SchedulePolicy
from streams.decide.consent import allowed_channels
from streams.decide.records import Patient, Reminders, sealed_from_state, sealed_to_state
from streams.runtime import Out, Runtime
from streams.tables import PatientTable

CHANNELS = ("WHATSAPP", "SMS")
KEEP_AFTER_START_MS = 24 * 3600 * 1000  # a finished plan is forgotten a day after its start


def policy_for(rt: Runtime, organization_id: str) -> SchedulePolicy:
    care = rt.config.settings.care
    tz, (start, end) = care.for_org(organization_id)
    offsets = care.reminder_offsets_s
    # reminders closer than the shortest offset are not "two messages in an hour": short test offsets
    # (seconds) keep both; real ones (hours) keep schedule's one-hour gap
    gap = min(schedule.MIN_GAP_MS, min(offsets) * 1000) if offsets else schedule.MIN_GAP_MS
    return SchedulePolicy(tz, QuietHours(start, end), offsets, gap)


def prune(patient: Patient, now: int) -> Patient:
    """Forget plans with nothing pending whose appointment is a day past (or has no start)."""
    def keep(r: Reminders) -> bool:
        p = r.planned
        if p.pending():
            return True
        return p.start_at_ms is not None and now - p.start_at_ms < KEEP_AFTER_START_MS

    kept = tuple(r for r in patient.appointments if keep(r))
    return patient if len(kept) == len(patient.appointments) else replace(patient, appointments=kept)


class Appointments(Handler):
    name = "appointments"

    def __init__(self, rt: Runtime, patients: PatientTable, messages: PatientTable,
                 due_index: PatientDeadlines) -> None:
        super().__init__(rt, patients, messages)
        self.due_index = due_index  # the reminder timer's: a changed plan is armed in it

    def one(self, event: EventT, view: View, out: Out) -> None:
        rt = self.rt
        rec = self.patient_record(rt.catalog.appointments, event, out)
        if rec is None:
            return
        rid = rec["recipient_id"]
        now = rt.now()
        org = rec["organization_id"]
        appt = Appointment(rec["appointment_id"], org, rid, Kind(rec["kind"]), convert.ms(rec.get("start_at")),
                           convert.ms(rec["occurred_at"]) or now, rec.get("language") or "es",
                           rec.get("timezone"), rec.get("clinic"))
        policy = policy_for(rt, org)
        patient = view.patient(rid)
        current = patient.reminders(appt.appointment_id)
        opted_out = not allowed_channels(patient.consent, CHANNELS)
        change = schedule.on_event(current.planned if current else None, appt, policy, now, opted_out=opted_out)
        rt.metrics.decide(self.name, change.ignored or appt.kind.value.lower())
        if change.planned is None or change.ignored == "stale":
            return
        reminders = Reminders(change.planned, sealed_to_state(rec["recipient"]) or ("", "", ""),
                              sealed_to_state(rec.get("recipient_name")))
        updated = prune(patient.with_reminders(reminders), now)
        updated = replace(updated, organization_id=updated.organization_id or org)
        question = updated.question
        if change.cancelled and appt.kind is not Kind.RESCHEDULED and question is not None \
                and question.appointment_id == appt.appointment_id:
            updated = replace(updated, question=None)  # nothing left to answer about it
        if change.notify is not None and not opted_out:
            self.request(out, reminders, change.notify, now)
        if updated != patient:
            view.put_patient(rid, updated)
            self.due_index.arm(rid, updated)

    def request(self, out: Out, reminders: Reminders, due: Due, now: int) -> None:
        """The SendRequest of one reminder (or notice): ids from the plan, PHI sealed."""
        rt = self.rt
        cipher = rt.cipher
        params = dict(due.params)
        planned = reminders.planned
        message_id = plans.message_id(due.organization_id, due.idempotency_key)
        # the number and name were sealed for the AppointmentEvent (its appointment id): sealed again
        # for this SendRequest (its message id)
        source, target = Binding(due.organization_id, planned.appointment_id), Binding(due.organization_id, message_id)
        name = sealed_from_state(reminders.name)
        params["patient_name"] = cipher.open("recipient_name", name, source) if name is not None else ""
        recipient = sealed_from_state(reminders.recipient)
        request = {
            "message_id": message_id,
            "organization_id": due.organization_id, "idempotency_key": due.idempotency_key,
            "recipient": cipher.reseal("recipient", recipient, source, target) if recipient else None,
            "recipient_id": due.recipient_id,
            "patient_ref": None, "recipient_name": None, "channels": list(CHANNELS),
            "content": {"template": due.template, "language": due.language,
                        "params": cipher.seal("params", json.dumps(params), target), "text": None},
            "priority": "URGENT" if due.urgent else "NORMAL", "send_at": None,
            "expires_at": planned.start_at_ms, "correlation_id": None, "appointment_id": due.appointment_id,
            "created_at": now, "source": "workflow", "automated_reply": False,
            "metadata": {"reminder": due.offset_name},
        }
        out.add(rt.catalog.send_requests, due.recipient_id.encode(), request, rt.partition(due.recipient_id))
        rt.metrics.decide(self.name, f"reminder_{due.template}")


def next_reminder_ms(patient: Patient) -> int | None:
    """When `patient`'s next reminder falls due, if one is pending."""
    return min((d for r in patient.appointments if (d := r.planned.next_due_ms()) is not None), default=None)


class ReminderTimer(Appointments):
    """Fires the reminders that fell due on this worker's partitions, soonest first from its index of
    each patient's next due time (PatientDeadlines, rebuilt from the table after each assignment,
    armed by the appointments agent and by the timer itself)."""

    name = "reminders"

    def __init__(self, rt: Runtime, patients: PatientTable, messages: PatientTable,
                 owned: Callable[[], set[int]]) -> None:
        super().__init__(rt, patients, messages, PatientDeadlines(next_reminder_ms, rt.config.partitions))
        self.owned = owned

    def assigned(self, partitions: set[int]) -> None:
        """Partitions were assigned and the tables recovered: the next tick rebuilds the index for them."""
        self.due_index.assigned(partitions)

    async def fire(self) -> int:
        rt = self.rt
        mine = self.owned()
        if not mine:
            return 0
        now = rt.now()
        due = await self.due_index.due(self.patients.data, mine, now)
        if not due:
            return 0
        view, out = self.view(), Out()
        fired = 0
        for rid in due:
            fired += self.due(view, out, rid, now)
            self.due_index.arm(rid, view.patient(rid))  # a plan still due now is looked at again next tick
        await self.complete(view, out)
        return fired

    def due(self, view: View, out: Out, rid: str, now: int) -> int:
        patient = view.patient(rid)  # read again: an agent batch may have changed it meanwhile
        if not any((r.planned.next_due_ms() or now + 1) <= now for r in patient.appointments):
            return 0
        updated, fired = patient, 0
        for r in patient.appointments:
            if (r.planned.next_due_ms() or now + 1) > now:
                continue
            policy = policy_for(self.rt, r.planned.organization_id)
            planned, dues = schedule.due(r.planned, policy, now)
            r = replace(r, planned=planned)
            updated = updated.with_reminders(r)
            for d in dues:
                self.request(out, r, d, now)
                fired += 1
        view.put_patient(rid, prune(updated, now))
        return fired

