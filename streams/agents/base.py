"""What every agent shares: the batch view of the tables, output helpers, dead letters.

A batch runs in three steps: decide (reading and writing the view), emit the outputs and wait for
the broker's acknowledgement, then write the changelog. State changes reach the in-memory tables at
once, so other agents of this worker see them; they become durable only after the outputs they
caused, so a crash between the two replays the batch and re-emits the same (idempotent) outputs
rather than losing them.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from faust.types import EventT

from schemas.phi import Binding
from schemas.topics import BoundTopic
from streams import convert
from streams.agents.delay import delay_topic_for
from streams.care import plans
from streams.care.flow import ATTENTION
from streams.care.schedule import Planned, cancel_all
from streams.decide import lifecycle, urgent
from streams.decide.consent import ALL_CHANNELS
from streams.decide.evolve import evolve
from streams.decide.inbound import cancellable
from streams.decide.lifecycle import Outcome
from streams.decide.records import Hop, Message, Patient, prune_pending
from streams.decide.status import REACHED
from streams.partitioning import partition_for
from streams.runtime import DeadlineHeap, Out, Record, Runtime, b64, unb64
from streams.tables import PatientTable, scan

log = logging.getLogger("carelay.streams")
LOOP_PAUSED = "loop_paused"  # the staff notice of a paused conversation (streams.care.ai_bridge says it too)


def cancel_reminders(patient: Patient, reason: str, appointment_id: str | None = None) -> Patient:
    """Cancel the pending reminders of one appointment, or of every appointment (an opt-out)."""
    plans = tuple(replace(r, planned=cancel_all(r.planned, reason))
                  if (appointment_id is None or r.planned.appointment_id == appointment_id) and r.planned.pending()
                  else r for r in patient.appointments)
    return patient if plans == patient.appointments else replace(patient, appointments=plans)


class PatientDeadlines:
    """When to look at which patient of this worker's partitions for one kind of due time (`due_of`:
    an AI request's deadline, the next reminder), soonest first. The time is durable in the patient
    record; this index is armed by the agents that write such a time (`arm`) and rebuilt from the
    `patients` table after each assignment: `assigned` is called once the tables are recovered
    (CarelayApp's on_rebalance_complete), and the next `due` scans the table for those partitions.
    Patients restored from the changelog reach the table only during that recovery, so nothing is
    rescanned in between. A stale time is harmless: the caller reads the patient again and re-arms."""

    def __init__(self, due_of: Callable[[Patient], int | None], partitions: int) -> None:
        self.due_of = due_of
        self.partitions = partitions
        self.heap = DeadlineHeap()
        self._assigned: frozenset[int] | None = None  # partitions assigned and recovered, not yet scanned

    def assigned(self, partitions: set[int]) -> None:
        self._assigned = frozenset(partitions)

    def arm(self, rid: str, patient: Patient) -> None:
        due = self.due_of(patient)
        if due is not None:
            self.heap.arm(due, rid)

    async def due(self, table: Mapping[Any, Any], mine: set[int], now: int) -> list[str]:
        """The patients (of `mine`) whose time came, each once; rebuilds the index first after an assignment."""
        if self._assigned is not None:
            await self.rebuild(table, self._assigned)
        return [rid for rid, _ in self.heap.due(now) if partition_for(rid, self.partitions) in mine]

    async def rebuild(self, table: Mapping[Any, Any], partitions: frozenset[int]) -> None:
        self._assigned = None
        self.heap.clear()
        async for rid, patient in scan(table):
            if isinstance(patient, Patient) and (due := self.due_of(patient)) is not None \
                    and partition_for(rid, self.partitions) in partitions:
                self.heap.arm(due, rid)


class View:
    """A batch's view of the tables: its changes reach the store at once (so later reads, and other
    agents of this worker, see them) and the changelog through `changelog()`, after the outputs."""

    def __init__(self, patients: PatientTable, messages: PatientTable) -> None:
        self._patients = patients
        self._messages = messages
        self._dirty_patients: dict[str, Patient] = {}
        self._dirty_messages: dict[str, Message] = {}
        self._first: dict[str, Message | None] = {}  # each message as the batch first saw it
        self._first_patients: dict[str, Patient] = {}  # each changed patient as the batch first saw it

    def patient(self, rid: str) -> Patient:
        found = self._patients.data.get(rid)
        return found if found is not None else Patient()

    def put_patient(self, rid: str, patient: Patient) -> None:
        if rid not in self._first_patients:
            self._first_patients[rid] = self.patient(rid)
        self._dirty_patients[rid] = patient
        self._patients.data[rid] = patient

    def message(self, rid: str, message_id: str) -> Message | None:
        key = f"{rid}|{message_id}"
        found: Message | None = self._messages.data.get(key)
        if key not in self._first:
            self._first[key] = found
        return found

    def put_message(self, msg: Message) -> None:
        key = f"{msg.recipient_id}|{msg.message_id}"
        if key not in self._first:
            self._first[key] = self._messages.data.get(key)
        self._dirty_messages[key] = msg
        self._messages.data[key] = msg

    def first_status(self, msg: Message) -> str | None:
        """The message's status before this batch; None when the batch created it."""
        first = self._first.get(f"{msg.recipient_id}|{msg.message_id}")
        return first.status if first is not None else None

    def restated(self) -> list[Message]:
        """Changed messages whose status, history or finality changed (a ledger-only change is not news)."""
        found = []
        for key, msg in self._dirty_messages.items():
            first = self._first.get(key)
            if (first is None or msg.history is not first.history or msg.status != first.status
                    or msg.is_final != first.is_final):
                found.append(msg)
        return found

    def replanned(self) -> list[tuple[Planned | None, Planned]]:
        """Reminder plans the batch changed, each as (before the batch, now); a plan pruned from the
        patient is not news (its last record stays on appointment.plans)."""
        found = []
        for rid, patient in self._dirty_patients.items():
            first = self._first_patients.get(rid)
            old = {r.planned.appointment_id: r.planned for r in first.appointments} if first is not None else {}
            for r in patient.appointments:
                before = old.get(r.planned.appointment_id)
                if before is not r.planned and before != r.planned:
                    found.append((before, r.planned))
        return found

    def changelog(self) -> list[Record]:
        """The batch's changes as changelog records; the view starts afresh."""
        patients, self._dirty_patients = self._dirty_patients, {}
        messages, self._dirty_messages = self._dirty_messages, {}
        self._first.clear()
        self._first_patients.clear()
        return [*self._patients.records(patients), *self._messages.records(messages)]


class Handler:
    name = "agent"

    def __init__(self, rt: Runtime, patients: PatientTable, messages: PatientTable) -> None:
        self.rt = rt
        self.patients = patients
        self.messages = messages

    def view(self) -> View:
        return View(self.patients, self.messages)

    def observe(self, events: Sequence[EventT]) -> None:
        metrics = self.rt.metrics
        metrics.child(metrics.events, self.name).inc(len(events))
        metrics.child(metrics.batch_size, self.name).observe(len(events))

    async def handle(self, events: Sequence[EventT]) -> None:
        self.observe(events)
        view, out = self.view(), Out()
        for event in events:
            self.one(event, view, out)
        await self.complete(view, out)

    def one(self, event: EventT, view: View, out: Out) -> None:
        raise NotImplementedError

    async def complete(self, view: View, out: Out) -> None:
        """Emit the batch's outputs (with one MessageState per restated message and one AppointmentPlan
        per changed reminder plan) and wait for the broker, then write the changelog and wait again:
        the state is durable when this returns."""
        summary = self.rt.summary
        for msg in view.restated():
            out.add(self.rt.catalog.message_state, msg.message_id.encode(), convert.state_record(msg), None)
            summary.changed(view.first_status(msg), msg.status)
        for before, after in view.replanned():
            self.replanned(out, before, after)
        await self.rt.emit(out)
        await self.rt.send_all(view.changelog())

    # -- outputs ----------------------------------------------------------------------------
    def decode(self, topic: BoundTopic, event: EventT, out: Out) -> dict[str, Any] | None:
        try:
            return topic.codec.decode(event.value)
        except Exception as exc:  # ContractError, RegistryError: the record is kept whole for inspection
            self.dead(event, "undecodable", out, detail=type(exc).__name__)
            return None

    def patient_record(self, topic: BoundTopic, event: EventT, out: Out) -> dict[str, Any] | None:
        """The decoded record of a patient-keyed topic, or None when it went to the dead letters or
        on to the patient's own partition: every patient agent's first two steps."""
        rec = self.decode(topic, event, out)
        if rec is None or self.misrouted(event, rec["recipient_id"], out):
            return None
        return rec

    def misrouted(self, event: EventT, rid: str, out: Out) -> bool:
        """Records keyed by a partitioner other than Kafka's default land on the wrong partition:
        send them on to the patient's partition of the same topic (see streams.partitioning)."""
        want = self.rt.partition(rid)
        if event.message.partition == want:
            return False
        out.raw(event.message.topic, event.message.key, event.value, want)
        self.rt.metrics.decide(self.name, "repartitioned")
        return True

    def dead(self, event: EventT, reason: str, out: Out, *, detail: str | None = None,
             message_id: str | None = None) -> None:
        m = event.message
        record = convert.dead_letter(m.topic, m.partition, m.offset, m.key, event.value, reason, self.rt.now(),
                                     detail=detail, message_id=message_id)
        out.add(self.rt.catalog.dead_letter, m.key, record, None)
        self.rt.metrics.dead_letters.labels(reason).inc()
        log.warning("%s: dead letter %s (%s) at %s[%d]@%d", self.name, reason, detail or "-", m.topic, m.partition,
                    m.offset)

    def consent(self, view: View, out: Out, org: str, rid: str, channel: str, opted_in: bool, source: str,
                reason: str | None, at_ms: int, *, publish: bool = True) -> None:
        """Apply a consent change to the patient; on opt-out, cancel the pending messages it leaves
        without a channel. `publish`: also write it to the (compacted) consent topic."""
        rt = self.rt
        patient = view.patient(rid)
        if publish:  # decided here and now: after everything already known, in the order read
            at_ms = patient.consent.stamp(at_ms)
        consent = patient.consent.apply(channel, opted_in, at_ms, source)
        if consent is patient.consent:
            return  # known already (a replay, or our own change read back)
        patient = replace(patient, consent=consent, organization_id=patient.organization_id or org)
        if publish:
            out.add(rt.catalog.consent, convert.consent_key(org, rid, channel),
                    convert.consent_change(org, rid, channel, opted_in, source, reason, at_ms), rt.partition(rid))
        rt.metrics.decide("consent", f"{source}_{'in' if opted_in else 'out'}")
        if not opted_in:
            now = rt.now()
            for pending in patient.pending:
                msg = view.message(rid, pending.message_id)
                if msg is not None and cancellable(msg, consent):
                    msg, outs = lifecycle.finish(msg, "cancelled", now, "opted_out")
                    view.put_message(msg)
                    self.outcomes(outs, msg, out)
            patient = prune_pending(patient, lambda mid: view.message(rid, mid))
            if channel == ALL_CHANNELS:  # no channel left for reminders: they are not sent later either
                patient = cancel_reminders(patient, "opted_out")
        view.put_patient(rid, patient)

    def alert(self, out: Out, org: str, rid: str, cause: str, now: int, *, caused_by: str, paused_until_ms: int,
              channel: str = "UNKNOWN", text: str | None = None) -> None:
        """The loop guard paused a conversation (`cause`: ping_pong, loop_cap): the audit trail, a
        metric, and staff at once (`staff.attention_needed`, reason `loop_paused`), since nothing
        automated answers the patient until someone resumes it. `caused_by` (the inbound event or
        the refused send) names the notice, so a replay collapses; the patient's words go sealed."""
        self.rt.metrics.alerts.labels(cause).inc()
        out.add(self.rt.catalog.audit, org.encode(),
                convert.audit("conversation.paused", "denied", now, org=org, resource=rid, reason=cause), None)
        self.emit_care_event(out, ATTENTION, org, rid, f"{caused_by}:{LOOP_PAUSED}", now, message_id=caused_by,
                             reason=LOOP_PAUSED, channel=channel if channel in convert.CHANNELS else "UNKNOWN",
                             text=text, details={"cause": cause, "paused_until": str(paused_until_ms)})

    def emit_care_event(self, out: Out, kind: str, org: str, rid: str, event_id: str, now: int, *,
                        appointment_id: str | None = None, message_id: str | None = None,
                        reason: str | None = None, channel: str = "UNKNOWN", language: str | None = None,
                        text: str | None = None, details: Mapping[str, str] | None = None) -> None:
        """A CareEvent: business answers to appointment.events, the rest (ATTENTION) to
        staff.notifications. `event_id` derives from what caused it, so a replay publishes the same
        event; the patient's words (`text`) leave only sealed."""
        rt = self.rt
        topic = rt.catalog.staff_notifications if kind == ATTENTION else rt.catalog.appointment_events
        record = {
            "event_id": event_id, "type": kind, "organization_id": org, "recipient_id": rid,
            "appointment_id": appointment_id, "message_id": message_id, "reason": reason,
            "channel": channel, "language": language,
            "text": rt.cipher.seal("text", text, Binding(org, event_id)) if text else None, "correlation_id": None,
            "occurred_at": now, "details": dict(details or {}),
        }
        out.add(topic, rid.encode(), record, rt.partition(rid))
        rt.metrics.decide(self.name, kind)

    def replanned(self, out: Out, before: Planned | None, after: Planned) -> None:
        """A changed plan goes to appointment.plans (GET /v1/appointments/{id}); one that can no longer
        send any reminder (every slot in the past or moved there by quiet hours) is handed to staff."""
        now = self.rt.now()
        out.add(self.rt.catalog.appointment_plans, plans.key(after), plans.record(after, now), None)
        why = plans.newly_impossible(before, after)
        if why is not None:
            self.emit_care_event(out, ATTENTION, after.organization_id, after.recipient_id, plans.notice_id(after),
                                 now, appointment_id=after.appointment_id, reason=plans.IMPOSSIBLE,
                                 language=after.language, details={"slots": why})

    def outcomes(self, outcomes: Iterable[Outcome], msg: Message, out: Out) -> None:
        """Emit `msg`'s outcomes; an urgent notice that ended without reaching the patient is also
        handed to staff (whichever agent ended it), once: the event id is the message's."""
        key = msg.recipient_id.encode()
        part = self.rt.partition(msg.recipient_id)
        outcomes = tuple(outcomes)
        for o in outcomes:
            out.add(self.rt.catalog.outcomes, key, convert.outcome_record(o, msg), part)
            self.rt.metrics.outcome(o.channel, o.provider, o.status, final=o.is_final, reached=o.status in REACHED,
                                    accepted_at_ms=msg.accepted_at_ms, at_ms=o.at_ms)
        ended = urgent.failed(msg, outcomes)
        if ended is not None:
            self.emit_care_event(
                out, ATTENTION, msg.organization_id, msg.recipient_id, f"{msg.message_id}:{urgent.FAILED}",
                ended.at_ms, appointment_id=msg.appointment_id, message_id=msg.message_id, reason=urgent.FAILED,
                channel=ended.channel if ended.channel in convert.CHANNELS else "UNKNOWN", language=msg.language,
                details={"status": ended.status, "cause": ended.reason or "", "error_code": ended.error_code or "",
                         "channels_tried": ",".join(h.channel for h in msg.hops)})

    def park(self, out: Out, target: BoundTopic, rid: str, value: bytes, due_ms: int, reason: str,
             attempt: int = 0) -> None:
        """Send `value` back to `target` at `due_ms`, through the delay topics."""
        now = self.rt.now()
        topic = delay_topic_for(self.rt.catalog, max(0, due_ms - now))
        out.add(topic, rid.encode(), convert.delayed(target.name, rid.encode(), value, due_ms, reason, attempt),
                self.rt.partition(rid))

    def dispatch_hop(self, out: Out, msg: Message, hop: Hop, base: dict[str, Any]) -> Message:
        """Emit the command for a new hop, arm its delivery deadline, remember the command."""
        rt = self.rt
        command = convert.dispatch_command(base, msg, hop)
        part = rt.partition(msg.recipient_id)
        value = out.add(rt.catalog.dispatch, msg.recipient_id.encode(), command, part)
        rt.deadlines.arm(hop.deadline_ms, f"{msg.recipient_id}|{msg.message_id}", hop.hop)
        return evolve(msg, command=b64(value))

    def previous_command(self, msg: Message) -> dict[str, Any] | None:
        if msg.command is None:
            return None
        return self.rt.catalog.dispatch.codec.decode(unb64(msg.command))
