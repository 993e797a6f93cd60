"""Intake agent (send.requests): dedup, consent, rate limits and routing, then hop 0's command."""
from __future__ import annotations

from faust.types import EventT

from streams import convert
from streams.agents.base import Handler, View
from streams.decide import intake
from streams.decide.records import prune_held, prune_pending, unsent_ahead
from streams.runtime import Out

PRUNE_AT = 8  # pending entries are pruned lazily, when a patient has more than this


class Intake(Handler):
    name = "intake"

    def one(self, event: EventT, view: View, out: Out) -> None:
        rt = self.rt
        rec = self.patient_record(rt.catalog.send_requests, event, out)
        if rec is None:
            return
        rid = rec["recipient_id"]
        try:
            req = convert.request_facts(rec, rt.fingerprint(rec), rt.templates)
        except Exception as exc:  # a field that does not open (PhiError): nothing can be sent
            self.dead(event, "unreadable_request", out, detail=type(exc).__name__, message_id=rec.get("message_id"))
            return
        now = rt.now()
        # org and sender buckets hold this partition's share of the global rate
        shared = rt.shared_buckets.setdefault(event.message.partition, {})
        patient = view.patient(rid)
        if len(patient.pending) > PRUNE_AT:
            patient = prune_pending(patient, lambda mid: view.message(rid, mid))
        elif patient.held:  # the queue is short and must not keep an entry that ended elsewhere
            patient = prune_held(patient, lambda mid: view.message(rid, mid))
        ahead = None if req.priority == "URGENT" else unsent_ahead(patient, req.message_id,
                                                                    lambda mid: view.message(rid, mid))
        d = intake.decide(patient, view.message(rid, req.message_id), req, rt.world(now), shared,
                          unsent_ahead=ahead)
        parked = d.action is intake.Action.PARK
        rt.metrics.decide(self.name, f"park_{d.limiter or d.reason}" if parked else d.reason)
        if parked:
            rt.summary.add("held")
        if d.patient is not patient:
            view.put_patient(rid, d.patient)
        if d.message is None:
            return
        msg = d.message
        shared.update(d.shared)
        self.outcomes(d.outcomes, msg, out)
        if d.action is intake.Action.PARK and d.due_ms is not None:
            self.park(out, rt.catalog.send_requests, rid, event.value, d.due_ms, d.reason)
        elif d.action is intake.Action.DISPATCH and d.hop is not None:
            msg = self.dispatch_hop(out, msg, d.hop, rec)
        if d.alert:
            self.alert(out, msg.organization_id, rid, d.alert, now, caused_by=msg.message_id,
                       paused_until_ms=d.patient.loop.paused_until_ms, channel=msg.channels[0] if msg.channels else "")
        view.put_message(msg)
