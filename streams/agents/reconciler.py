"""Reconciler agent (provider.status): provider callbacks, poll results and our own clock's events
merged into each message's state machine; failures and timeouts fall back to the next channel, and an
urgent notice left unread is followed by a call (streams.decide.urgent)."""
from __future__ import annotations

from faust.types import EventT

from streams import convert
from streams.agents.base import Handler, View
from streams.decide import reconcile, urgent
from streams.runtime import Out


class Reconciler(Handler):
    name = "reconciler"

    def one(self, event: EventT, view: View, out: Out) -> None:
        rt = self.rt
        rec = self.decode(rt.catalog.provider_status, event, out)
        if rec is None:
            return
        rid = rec.get("recipient_id")
        if not rid:
            self.dead(event, "no_recipient", out, message_id=rec.get("message_id"))
            return
        if self.misrouted(event, rid, out):
            return
        patient = view.patient(rid)
        message_id = rec.get("message_id")
        if message_id is None:  # a callback without our references: the provider id index
            key = rt.provider_index.get(rec["provider_message_id"], "")
            message_id = key.partition("|")[2] if key.startswith(f"{rid}|") else None
        if message_id is None:
            rt.metrics.decide(self.name, "unmatched")
            return
        now = rt.now()
        r = reconcile.apply(view.message(rid, message_id), convert.status_facts(rec), patient, rt.world(now))
        rt.metrics.decide(self.name, r.reason)
        if not r.applied or r.message is None:
            return
        msg = r.message
        self.outcomes(r.outcomes, msg, out)
        if r.next_hop is not None:
            base = self.previous_command(msg)
            if base is None:
                self.dead(event, "no_command_for_fallback", out, message_id=msg.message_id)
            else:
                msg = self.dispatch_hop(out, msg, r.next_hop, base)
        view.put_message(msg)
        call_at = urgent.call_due_ms(msg)
        if call_at is not None and msg.current is not None:  # delivered, unread: when to look again
            rt.deadlines.arm(call_at, f"{rid}|{msg.message_id}", msg.current.hop)
        if r.opt_out_channel is not None:
            self.consent(view, out, msg.organization_id, rid, r.opt_out_channel, False, "provider",
                         "provider_opt_out", now)
