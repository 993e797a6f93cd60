"""Webhook interpreter (webhooks.raw): a verified provider webhook becomes a canonical ProviderStatus
or InboundMessage, keyed by the patient's pseudonym, through its provider package's `interpret`."""
from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from faust.types import EventT

from connectors.factory import interpreter
from connectors.webhooks import ParseContext
from schemas.phi import binding_of
from streams import convert
from streams.agents.base import Handler, View
from streams.runtime import Out


class Interpreter(Handler):
    name = "interpreter"
    _context: ParseContext | None = None

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
        interpret = interpreter(provider)
        if interpret is None:
            return kind, None
        if self._context is None:
            rt = self.rt
            self._context = ParseContext(rt.directory.organization_for, rt.pseudonymize, rt.cipher)
        return interpret(provider, kind, body, query, received, self._context)
