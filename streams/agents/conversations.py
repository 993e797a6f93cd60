"""Conversations agent (conversation.commands): staff commands on one patient's conversation, applied
by the worker that owns the patient. `conversation.resume` (from the gateway's
`POST /v1/conversations/{recipient_id}:resume`) ends a loop-guard pause (streams.care.loopguard.resume);
each command is audited with what it did (`conversation.resumed`, the action analytics reads
as the pause's end, or `conversation.resume` denied with the reason)."""
from __future__ import annotations

from dataclasses import replace

from faust.types import EventT

from streams import convert
from streams.agents.base import Handler, View
from streams.care import loopguard
from streams.runtime import Out

RESUME = "conversation.resume"
RESUMED = "conversation.resumed"  # the pause's end, as analytics reads it beside conversation.paused


class Conversations(Handler):
    name = "conversations"

    def one(self, event: EventT, view: View, out: Out) -> None:
        rt = self.rt
        rec = self.patient_record(rt.catalog.conversations, event, out)
        if rec is None:
            return
        rid, org, now = rec["recipient_id"], rec["organization_id"], rt.now()
        if rec["type"] != RESUME:
            rt.metrics.decide(self.name, "unknown_command")
            self.audited(out, org, rid, rec, "denied", "unknown_command", now)
            return
        patient = view.patient(rid)
        known = bool(patient.organization_id) and patient.organization_id == org
        result, loop = loopguard.resume(patient.loop, now, known=known)
        rt.metrics.decide(self.name, result)
        if loop is not patient.loop:
            view.put_patient(rid, replace(patient, loop=loop))
        if result == "resumed":
            self.audited(out, org, rid, rec, "allowed", result, now, action=RESUMED)
        else:
            self.audited(out, org, rid, rec, "denied", result, now)

    def audited(self, out: Out, org: str, rid: str, rec: dict[str, object], outcome: str, reason: str,
                now: int, *, action: str | None = None) -> None:
        """What the command did, in the audit trail beside the gateway's record of who asked."""
        out.add(self.rt.catalog.audit, org.encode(), convert.audit(
            action or str(rec["type"]), outcome, now, org=org, resource=rid, reason=reason,
            details={"command_id": str(rec["event_id"])}), None)
