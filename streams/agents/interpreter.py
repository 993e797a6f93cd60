"""Webhook interpreter (webhooks.raw): a verified provider webhook becomes a canonical ProviderStatus
or InboundMessage, keyed by the patient's pseudonym, through the connectors' parse functions."""
from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from faust.types import EventT

from connectors import meta, twilio
from schemas.phi import binding_of
from streams import convert
from streams.agents.base import Handler, View
from streams.runtime import Out

META_METADATA = ("phone_number_id", "display_phone_number", "waba_id", "field")


class Interpreter(Handler):
    name = "interpreter"

    def one(self, event: EventT, view: View, out: Out) -> None:
        rt = self.rt
        env = self.decode(rt.catalog.webhooks, event, out)
        if env is None:
            return
        try:
            body = json.loads(rt.cipher.open("body", env["body"], binding_of("WebhookEnvelope", env)))
            kind, rec = self.parse(env["provider"], env["kind"], body, env.get("query") or {},
                                   convert.ms(env["received_at"]))
        except Exception as exc:  # a body that does not open or parse: keep it for inspection
            self.dead(event, "unreadable_webhook", out, detail=type(exc).__name__)
            return
        if rec is None:
            rt.metrics.decide(self.name, f"ignored_{env['provider']}_{env['kind']}")
            return
        rid = rec.get("recipient_id")
        if not rid:
            self.dead(event, "no_recipient", out, detail=f"{env['provider']}:{env['kind']}",
                      message_id=rec.get("message_id"))
            return
        topic = rt.catalog.provider_status if kind == "status" else rt.catalog.inbound
        out.add(topic, rid.encode(), rec, rt.partition(rid))
        rt.metrics.decide(self.name, f"{env['provider']}_{kind}")

    def parse(self, provider: str, kind: str, body: Mapping[str, Any], query: Mapping[str, str],
              received: int | None) -> tuple[str, dict[str, Any] | None]:
        rt = self.rt
        d, pseudo, cipher = rt.directory, rt.pseudonymize, rt.cipher
        if provider == "twilio":
            form = {k: str(v) for k, v in body.items()}
            ours = form.get("From", "") if kind in ("status", "call_status") else form.get("To", "")
            org = query.get("org") or d.organization_for("twilio", ours)
            if kind == "status":
                return "status", twilio.parse_status_callback(form, query, pseudo, org, received)
            if kind == "call_status":
                return "status", twilio.parse_call_status(form, query, pseudo, org, received)
            if kind == "gather":
                return "inbound", twilio.parse_gather(form, query, cipher, pseudo, org, received)
            if kind == "inbound" and org:
                return "inbound", twilio.parse_inbound(form, cipher, pseudo, org, received)
            return kind, None
        if provider in ("meta", "d360"):
            metadata = {k: query.get(k, "") for k in META_METADATA}
            org = query.get("org") or d.organization_for(provider, metadata["phone_number_id"])
            if kind == "status":
                return "status", meta.parse_status(body, metadata, pseudo, org, received, provider=provider)
            if kind == "inbound" and org:
                return "inbound", meta.parse_message(body, metadata, cipher, pseudo, org, received, provider=provider)
        return kind, None
