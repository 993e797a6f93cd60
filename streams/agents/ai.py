"""The AI agent bridge's I/O (decisions in streams.care.ai_bridge): the inbound agent asks through
`AiBridge.ask` (an AiMessage on `ai.requests`, the wait recorded in `Patient.ai`); this agent reads
`ai.responses` and sends each answer back in the patient's conversation; its timer sends the holding
message for requests past their deadline.

The deadline is durable in the patient record; memory only keeps a heap of (deadline, rid) saying
when to look (streams.agents.base.PatientDeadlines), rebuilt from the table after each assignment
once the table is recovered, so a restart or rebalance still sends the holding message, and a tick
never scans every patient.
"""
from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from faust.types import EventT

from schemas.phi import Binding, binding_of
from streams.agents.automated import automated_reply
from streams.agents.base import Handler, PatientDeadlines, View
from streams.care import ai_bridge
from streams.care.ai_bridge import Outcome
from streams.care.flow import ATTENTION
from streams.decide.records import Patient, sealed_from_state, sealed_to_state
from streams.runtime import Out, Runtime
from streams.tables import PatientTable

AI_NAMESPACE = uuid.UUID("3f9a6c2d-8e14-4b57-a0d3-71c5e2b9f846")


class AiBridge(Handler):
    name = "ai"

    def __init__(self, rt: Runtime, patients: PatientTable, messages: PatientTable,
                 owned: Callable[[], set[int]]) -> None:
        super().__init__(rt, patients, messages)
        self.owned = owned
        # when to look at which patient; the deadline itself is in Patient.ai
        self.deadlines = PatientDeadlines(lambda p: ai_bridge.next_deadline(p.ai), rt.config.partitions)

    def assigned(self, partitions: set[int]) -> None:
        """Partitions were assigned and the tables recovered: the next tick rebuilds the heap for them."""
        self.deadlines.assigned(partitions)

    @property
    def timeout_ms(self) -> int:
        return int(self.rt.config.settings.care.ai_reply_timeout_s * 1000)

    # -- ai.requests (called by the inbound agent) ---------------------------------------------
    def ask(self, view: View, out: Out, rec: dict[str, Any], org: str, rid: str, sender: str, text: str,
            language: str | None, appointment_id: str | None, now: int) -> None:
        """Hand free text to the agent: the request on `ai.requests` (text sealed, ids pseudonymous),
        its deadline in the patient record and the heap."""
        rt = self.rt
        patient = view.patient(rid)
        # kept in the patient record until the answer: bound to the inbound message it came in
        recipient = sealed_to_state(rt.cipher.seal("recipient", sender, Binding(org, rec["event_id"])))
        bridge, req = ai_bridge.request(patient.ai, org, rid, rec["event_id"], rec["channel"], language, now,
                                        self.timeout_ms, appointment_id, recipient)
        if bridge is patient.ai:
            return  # asked already (a replayed inbound)
        updated = replace(patient, ai=bridge)
        view.put_patient(rid, updated)
        out.add(rt.catalog.ai_requests, rid.encode(), {
            "message_id": req.request_id, "conversation_id": req.conversation_id, "organization_id": org,
            "recipient_id": rid, "correlation_id": req.correlation_id,
            "text": rt.cipher.seal("text", text, Binding(org, req.request_id)),
            "language": language, "channel": req.channel, "appointment_id": appointment_id, "handoff": False,
            "created_at": now, "metadata": {},
        }, rt.partition(rid))
        self.deadlines.arm(rid, updated)
        rt.metrics.decide(self.name, "requested")

    # -- ai.responses ------------------------------------------------------------------------
    def one(self, event: EventT, view: View, out: Out) -> None:
        rt = self.rt
        rec = self.patient_record(rt.catalog.ai_responses, event, out)
        if rec is None:
            return
        rid = rec["recipient_id"]
        try:
            text = rt.cipher.open("text", rec["text"], binding_of("AiMessage", rec))
        except Exception as exc:
            self.dead(event, "unreadable_ai_response", out, detail=type(exc).__name__)
            return
        now = rt.now()
        patient = view.patient(rid)
        outcome = ai_bridge.on_response(patient.ai, patient.loop, rec["correlation_id"], bool(rec.get("handoff")),
                                        now, rt.config.policy.loop)
        rt.metrics.decide(self.name, outcome.ignored or outcome.staff_reason or "answered")
        if outcome.ignored is not None:
            return
        self.settle(view, out, rid, patient, outcome, now, text, rec.get("language"))

    def settle(self, view: View, out: Out, rid: str, patient: Patient, outcome: Outcome, now: int,
               text: str | None = None, language: str | None = None) -> Patient:
        """Apply one outcome: the patient's new state, the send (the agent's text or the holding
        message, in the language the agent answered in when it said) and the staff flag."""
        updated = replace(patient, ai=outcome.bridge, loop=outcome.loop)
        view.put_patient(rid, updated)
        entry, org = outcome.entry, patient.organization_id
        if entry is None:
            return updated
        send = outcome.send
        sealed = sealed_from_state(entry.recipient)
        to = self.rt.cipher.open("recipient", sealed, Binding(org, entry.inbound_event_id)) if sealed else None
        if send is not None and to is not None and org:
            template = send.template
            automated_reply(
                self.rt, out, message_id=str(uuid.uuid5(AI_NAMESPACE, f"{org}|{send.message_id}")),
                idempotency_key=send.message_id, org=org, rid=rid, to=to, channel=send.channel,
                language=language or send.language or "es", now=now, source="ai", template=template,
                params={} if template is not None else None, text=text if template is None else None,
                correlation_id=send.correlation_id, metadata={"ai": "holding" if template else "reply"})
        if outcome.staff_reason is not None and org:
            self.emit_care_event(out, ATTENTION, org, rid, f"{entry.request_id}:{outcome.staff_reason}", now,
                                 appointment_id=entry.appointment_id, message_id=entry.inbound_event_id,
                                 reason=outcome.staff_reason, channel=entry.channel, language=entry.language,
                                 details={"inbound_event_id": entry.inbound_event_id, "ai_request": entry.request_id})
        return updated

    # -- the deadline tick ---------------------------------------------------------------------
    async def fire(self) -> int:
        """Requests past their deadline on this worker's partitions: the holding message, staff flagged."""
        rt = self.rt
        mine = self.owned()
        if not mine:
            return 0
        now = rt.now()
        due = await self.deadlines.due(self.patients.data, mine, now)
        if not due:
            return 0
        view, out = self.view(), Out()
        fired = 0
        for rid in due:
            patient = view.patient(rid)
            for outcome in ai_bridge.expire(patient.ai, patient.loop, now, rt.config.policy.loop):
                patient = self.settle(view, out, rid, patient, outcome, now)
                rt.metrics.decide(self.name, outcome.staff_reason or "expired")
                fired += 1
            self.deadlines.arm(rid, patient)  # the next waiting request's deadline, if any
        await self.complete(view, out)
        return fired
