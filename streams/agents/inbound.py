"""Inbound agent (inbound.messages): loop guard, WhatsApp window, keywords and their consequences;
and the consent agent (consent): changes made elsewhere (API, imports) applied to patient state."""
from __future__ import annotations

import json
import uuid
from typing import Any

from faust.types import EventT

from streams import convert
from streams.agents.base import Handler, View
from streams.decide import inbound
from streams.decide.inbound import InboundFacts
from streams.decide.keywords import fold
from streams.runtime import Out

HELP_NAMESPACE = uuid.UUID("6f1c2e8a-53d4-4b7e-9a0f-2c8d1e5b7a39")
REPLY_TTL_MS = 3_600_000


class Inbound(Handler):
    name = "inbound"

    def one(self, event: EventT, view: View, out: Out) -> None:
        rt = self.rt
        rec = self.decode(rt.catalog.inbound, event, out)
        if rec is None:
            return
        rid = rec["recipient_id"]
        if self.misrouted(event, rid, out):
            return
        now = rt.now()
        org = rec.get("organization_id") or view.patient(rid).organization_id
        try:
            sender = rt.cipher.open("sender", rec["sender"])
            text = rt.cipher.open_optional("text", rec.get("text")) or ""
        except Exception as exc:
            self.dead(event, "unreadable_inbound", out, detail=type(exc).__name__)
            return
        folded = fold(text)
        instance = rt.directory.instance_for_address(rec["provider"], rec["to_address"], rec["channel"])
        facts = InboundFacts(rec["event_id"], org, rec["channel"], convert.ms(rec["received_at"]) or now,
                             instance.id if instance else None, folded, rt.digest(folded) if folded else None,
                             rec.get("payload"), rt.directory.is_own_sender(sender))
        patient = view.patient(rid)
        h = inbound.decide(patient, facts, rt.recent_sent(rid, now), rt.world(now))
        rt.metrics.decide(self.name, h.reason)
        if h.patient is not patient:
            view.put_patient(rid, h.patient)
        if h.consent is not None:
            self.consent(view, out, org, rid, h.consent.channel, h.consent.opted_in, "keyword", h.consent.reason, now)
        if h.reply_help and org:
            self.reply(out, rec, org, rid, sender, "help", h.language or "es", {"clinic": org}, now)
        if h.answer is not None:
            action, message_id = h.answer
            out.add(rt.catalog.audit, org.encode(), convert.audit(
                f"appointment.{action}", "allowed", now, org=org, resource=message_id,
                details={"channel": rec["channel"], "recipient_id": rid}), None)
        if h.alert:
            self.alert(out, org, rid, h.alert, now)

    def reply(self, out: Out, rec: dict[str, Any], org: str, rid: str, sender: str, template: str, language: str,
              params: dict[str, str], now: int) -> None:
        """An automated answer, sent as a SendRequest like any other (dedup, consent, caps, loop guard).
        Its ids derive from the inbound event, so a replayed inbound asks for the same answer."""
        rt = self.rt
        cipher = rt.cipher
        request = {
            "message_id": str(uuid.uuid5(HELP_NAMESPACE, rec["event_id"])), "organization_id": org,
            "idempotency_key": f"{template}:{rec['event_id']}", "recipient": cipher.seal("recipient", sender),
            "recipient_id": rid, "patient_ref": None, "recipient_name": None, "channels": [rec["channel"]],
            "content": {"template": template, "language": language,
                        "params": cipher.seal("params", json.dumps(params)), "text": None},
            # a reply the patient asked for: its own (urgent) budget, not the reminders' hourly cap
            "priority": "URGENT", "send_at": None, "expires_at": now + REPLY_TTL_MS, "correlation_id": None,
            "appointment_id": None, "created_at": now, "source": "workflow", "automated_reply": True,
            "metadata": {"reply": template},
        }
        out.add(rt.catalog.send_requests, rid.encode(), request, rt.partition(rid))


class ConsentAgent(Handler):
    name = "consent"

    def one(self, event: EventT, view: View, out: Out) -> None:
        rec = self.decode(self.rt.catalog.consent, event, out)
        if rec is None:
            return
        rid = rec["recipient_id"]
        if self.misrouted(event, rid, out):
            return
        at = convert.ms(rec["occurred_at"]) or self.rt.now()
        self.consent(view, out, rec["organization_id"], rid, rec["channel"], rec["state"] == "OPTED_IN",
                     rec["source"], rec.get("reason"), at, publish=False)
