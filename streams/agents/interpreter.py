"""Webhook interpreter (webhooks.raw): a verified provider webhook becomes a canonical ProviderStatus
or InboundMessage, keyed by the patient's pseudonym, through its provider package's `interpret`; a
provider's template review becomes the template's next version on `templates`."""
from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from faust.types import EventT

from connectors.factory import interpreter
from connectors.templates import TEMPLATE_STATUS
from connectors.webhooks import ParseContext
from schemas.errors import UnknownTemplateError
from schemas.phi import binding_of
from schemas.template_records import reviewed, template_key, to_record
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
        if kind == TEMPLATE_STATUS:
            self.review(rec, env["provider"], out)
            return
        rid = rec.get("recipient_id")
        if not rid:
            self.dead(event, "no_recipient", out, detail=f"{env['provider']}:{env['kind']}",
                      message_id=rec.get("message_id"))
            return
        topic = rt.catalog.provider_status if kind == "status" else rt.catalog.inbound
        out.add(topic, rid.encode(), rec, rt.partition(rid))
        rt.metrics.decide(self.name, f"{env['provider']}_{kind}")

    def review(self, rec: Mapping[str, Any], provider: str, out: Out) -> None:
        """A review of a template this worker's live catalog holds as an organization's record: its next
        version. A review of a seed template, of an unknown name or repeating the status held is counted only."""
        rt = self.rt
        try:
            held = rt.templates.get(rec["name"])
        except UnknownTemplateError:
            held = None
        new = None if held is None or held.organization_id is None else reviewed(
            held, rec["language"], rec["status"], rec.get("reason"), rec.get("template_id") or None, rt.now(),
            provider)
        if new is None or new.organization_id is None:
            rt.metrics.decide(self.name, "template_review_ignored")
            return
        rt.templates.put(new)  # the next review of the same template builds on this version at once
        out.add(rt.catalog.templates, template_key(new.organization_id, new.name), to_record(new), 0)
        rt.metrics.decide(self.name, f"template_{rec['status'].lower()}")

    def parse(self, provider: str, kind: str, body: Mapping[str, Any], query: Mapping[str, str],
              received: int | None) -> tuple[str, dict[str, Any] | None]:
        interpret = interpreter(provider)
        if interpret is None:
            return kind, None
        if self._context is None:
            rt = self.rt
            self._context = ParseContext(rt.directory.organization_for, rt.pseudonymize, rt.cipher)
        return interpret(provider, kind, body, query, received, self._context)
