"""Inbound agent (inbound.messages): loop guard, WhatsApp window, keywords and their consequences,
free text handed to the AI agent (streams.agents.ai); and the consent agent (consent): changes made
elsewhere (API, imports) applied to patient state."""
from __future__ import annotations

import json
import uuid
from typing import Any, cast

from faust.types import EventT

from connectors.factory import capabilities
from schemas.errors import PhiError
from schemas.phi import Binding, Sealed, binding_of
from streams import convert
from streams.agents.ai import AiBridge
from streams.agents.appointments import policy_for
from streams.agents.automated import automated_reply
from streams.agents.base import Handler, View, cancel_reminders
from streams.care import schedule
from streams.care.flow import ATTENTION, CANCEL_REQUESTED, CONFIRMED, RESCHEDULE_REQUESTED, When, acknowledgement
from streams.care.keywords import fold
from streams.decide import inbound
from streams.decide.inbound import InboundFacts
from streams.decide.records import SealedState, sealed_from_state
from streams.runtime import Out, Runtime
from streams.tables import PatientTable

HELP_NAMESPACE = uuid.UUID("6f1c2e8a-53d4-4b7e-9a0f-2c8d1e5b7a39")
WHILE_PAUSED = "message_while_paused"  # a patient's message on a conversation the loop guard paused
ANSWER_EVENTS = {"confirm": CONFIRMED, "cancel": CANCEL_REQUESTED, "reschedule": RESCHEDULE_REQUESTED}


class Inbound(Handler):
    name = "inbound"

    def __init__(self, rt: Runtime, patients: PatientTable, messages: PatientTable, ai: AiBridge) -> None:
        super().__init__(rt, patients, messages)
        self.ai = ai

    def one(self, event: EventT, view: View, out: Out) -> None:
        rt = self.rt
        rec = self.patient_record(rt.catalog.inbound, event, out)
        if rec is None:
            return
        rid = rec["recipient_id"]
        now = rt.now()
        org = rec.get("organization_id") or view.patient(rid).organization_id
        try:
            bound = binding_of("InboundMessage", rec)
            sender = rt.cipher.open("sender", rec["sender"], bound)
            text = rt.cipher.open_optional("text", rec.get("text"), bound) or ""
        except Exception as exc:
            self.dead(event, "unreadable_inbound", out, detail=type(exc).__name__)
            return
        folded = fold(text)
        instance = rt.directory.instance_for_address(rec["provider"], rec["to_address"], rec["channel"])
        facts = InboundFacts(rec["event_id"], org, rec["channel"], convert.ms(rec["received_at"]) or now,
                             instance.id if instance else None, folded, rt.digest(folded) if folded else None,
                             rec.get("payload"), rt.directory.is_own_sender(sender),
                             capabilities(rec["provider"]).keywords_answered(rec["channel"]))
        patient = view.patient(rid)
        h = inbound.decide(patient, facts, rt.recent_sent(rid, now), rt.world(now))
        rt.metrics.decide(self.name, h.reason)
        if h.patient is not patient:
            view.put_patient(rid, h.patient)
        if h.consent is not None:
            self.consent(view, out, org, rid, h.consent.channel, h.consent.opted_in, "keyword", h.consent.reason, now)
        if h.confirm is not None and org:
            # on the channel the keyword came in; intake lets an opt-out's own confirmation through
            self.reply(out, rec, org, rid, sender, h.confirm, h.language or "es", {}, now)
        if h.reply_help and org:
            self.reply(out, rec, org, rid, sender, "help", h.language or "es", {"clinic": org}, now)
        if h.answer is not None:
            action, message_id = h.answer
            out.add(rt.catalog.audit, org.encode(), convert.audit(
                f"appointment.{action}", "allowed", now, org=org, resource=message_id,
                details={"channel": rec["channel"], "recipient_id": rid}), None)
            self.answered(view, out, rec, org, rid, sender, action, message_id, h, now)
        if h.clarify and org:
            self.reply(out, rec, org, rid, sender, "clarification", h.language or self.language(view, rid, h),
                       {}, now)
        if h.attention is not None and h.question is not None:
            self.care_event(out, rec, org, rid, ATTENTION, h.question.appointment_id, h.question.message_id,
                            h.attention, None, now, text=text)
        if h.to_ai and org:
            question = h.question
            language = self.language(view, rid, h) if question is not None else h.language
            self.ai.ask(view, out, rec, org, rid, sender, text, language,
                        question.appointment_id if question is not None else None, now)
        if h.alert:
            self.alert(out, org, rid, h.alert, now, caused_by=rec["event_id"], channel=rec["channel"], text=text,
                       paused_until_ms=h.patient.loop.paused_until_ms)
        elif h.while_paused:
            # staff own a paused conversation: each message reaches them, the words sealed
            self.emit_care_event(out, ATTENTION, org, rid, f"{rec['event_id']}:{WHILE_PAUSED}", now,
                                 message_id=rec["event_id"], reason=WHILE_PAUSED, channel=rec["channel"],
                                 language=h.language, text=text,
                                 details={"inbound_event_id": rec["event_id"],
                                          "paused_until": str(h.patient.loop.paused_until_ms)})

    def answered(self, view: View, out: Out, rec: dict[str, Any], org: str, rid: str, sender: str, action: str,
                 message_id: str, h: inbound.Handled, now: int) -> None:
        """An answer to a reminder: the business event for the scheduling system; a cancellation also
        cancels the appointment's later reminders and, like a reschedule request, tells staff."""
        question = h.question
        if question is not None and question.message_id == message_id:
            appointment_id = question.appointment_id
        else:  # a button naming an earlier reminder: its message record knows the appointment
            asked = view.message(rid, message_id)
            appointment_id = asked.appointment_id if asked is not None else None
        kind = ANSWER_EVENTS.get(action)
        if kind is None:
            return
        self.care_event(out, rec, org, rid, kind, appointment_id, message_id, None, h.language, now)
        if action != "confirm":
            self.care_event(out, rec, org, rid, ATTENTION, appointment_id, message_id, kind.split(".")[1],
                            h.language, now)
        self.acknowledge(view, out, rec, org, rid, sender, action, message_id, appointment_id, now)
        if action == "cancel" and appointment_id is not None:
            patient = view.patient(rid)
            updated = cancel_reminders(patient, "cancel_requested", appointment_id)
            if updated is not patient:
                view.put_patient(rid, updated)

    def acknowledge(self, view: View, out: Out, rec: dict[str, Any], org: str, rid: str, sender: str,
                    action: str, message_id: str, appointment_id: str | None, now: int) -> None:
        """Tell the patient the answer was received (streams.care.flow.acknowledgement): the date and
        time from the appointment's plan, else from the answered reminder's own parameters."""
        plan = reminder = None
        found = view.patient(rid).reminders(appointment_id) if appointment_id is not None else None
        if found is not None:
            params = dict(schedule.params(found.planned, policy_for(self.rt, org)))
            plan = When(found.planned.language, params.get("date"), params.get("time"))
        asked = view.message(rid, message_id)
        if asked is not None and asked.params is not None:
            sent = self.reminder_params(asked.params, Binding(asked.organization_id, asked.message_id))
            reminder = When(asked.language, sent.get("date"), sent.get("time"))
        ack = acknowledgement(action, rec["channel"], plan, reminder)
        if ack is not None:
            self.reply(out, rec, org, rid, sender, ack.template, ack.language, {"date": ack.date, "time": ack.time},
                       now)

    def reminder_params(self, sealed: SealedState, bound: Binding) -> dict[str, str]:
        """The answered reminder's parameters (sealed for its SendRequest); a value that does not open
        names nothing."""
        try:
            opened = json.loads(self.rt.cipher.open("params", cast(Sealed, sealed_from_state(sealed)), bound))
        except (PhiError, ValueError):  # a retired key or a malformed value: no date to name, no acknowledgement
            return {}
        return {k: v for k, v in opened.items() if isinstance(v, str)} if isinstance(opened, dict) else {}

    def care_event(self, out: Out, rec: dict[str, Any], org: str, rid: str, kind: str,
                   appointment_id: str | None, message_id: str | None, reason: str | None, language: str | None,
                   now: int, *, text: str | None = None) -> None:
        """A CareEvent caused by this inbound message: its id derives from the inbound event."""
        self.emit_care_event(out, kind, org, rid, f"{rec['event_id']}:{kind}", now,
                             appointment_id=appointment_id, message_id=message_id, reason=reason,
                             channel=rec["channel"], language=language, text=text,
                             details={"inbound_event_id": rec["event_id"]})

    @staticmethod
    def language(view: View, rid: str, h: inbound.Handled) -> str:
        """The language of the appointment the question is about (the reminder's), else Spanish."""
        if h.question is not None and h.question.appointment_id is not None:
            found = view.patient(rid).reminders(h.question.appointment_id)
            if found is not None:
                return found.planned.language
        return "es"

    def reply(self, out: Out, rec: dict[str, Any], org: str, rid: str, sender: str, template: str, language: str,
              params: dict[str, str], now: int) -> None:
        """An automated answer (streams.agents.automated). Its ids derive from the inbound event, so a
        replayed inbound asks for the same answer."""
        automated_reply(self.rt, out, message_id=str(uuid.uuid5(HELP_NAMESPACE, f"{template}:{rec['event_id']}")),
                        idempotency_key=f"{template}:{rec['event_id']}", org=org, rid=rid,
                        to=sender, channel=rec["channel"],
                        language=language, now=now, source="workflow", template=template, params=params,
                        metadata={"reply": template})


class ConsentAgent(Handler):
    name = "consent"

    def one(self, event: EventT, view: View, out: Out) -> None:
        rec = self.patient_record(self.rt.catalog.consent, event, out)
        if rec is None:
            return
        rid = rec["recipient_id"]
        at = convert.ms(rec["occurred_at"]) or self.rt.now()
        self.consent(view, out, rec["organization_id"], rid, rec["channel"], rec["state"] == "OPTED_IN",
                     rec["source"], rec.get("reason"), at, publish=False)
