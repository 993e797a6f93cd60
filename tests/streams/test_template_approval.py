"""A clinic's new template on the real broker, simulator, gateway and worker: before Meta approves it a
message falls to SMS with reason template_not_approved; the simulator's review webhook, through the
gateway and the worker's interpreter, becomes an APPROVED version on `templates`; then it goes on WhatsApp."""
from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import replace

from connectors.meta.templates import MetaTemplates
from schemas.settings import Settings
from schemas.template_records import template_key, to_record
from schemas.templates import Rendering, Template

from .harness import ORG, Client, Proc, Stack, number
from .test_pipeline import outcome

PARAMS = {"clinic": "Clinica Sul", "date": "3/5", "time": "9:30"}


def lembrete(name: str, status: str = "PENDING") -> Template:
    pt = Rendering(name, "pt_BR", (), "Ola, consulta em {clinic} no dia {date} as {time}.",
                   "Ola, consulta em {clinic} no dia {date} as {time}.",
                   body="Ola, consulta em {clinic} no dia {date} as {time}.", whatsapp_status=status)
    return Template(name, "UTILITY", ("clinic", "date", "time"), None, {"pt": pt}, organization_id=ORG, version=1,
                    updated_at_ms=int(time.time() * 1000), updated_by="admin")


def test_an_added_template_goes_to_sms_until_approved_then_on_whatsapp(stack: Stack, client: Client,
                                                                      worker: Proc) -> None:
    name = f"lembrete_{uuid.uuid4().hex[:8]}"
    template = lembrete(name)
    templates, outcomes = client.reader("templates"), client.reader("outcomes")
    client.publish("templates", template_key(ORG, name), to_record(template), 0)
    time.sleep(1.0)  # the worker's live catalog reads the new template (a poll or two)

    first, second = number(), number()
    before = client.request(first, template=name, params=PARAMS, language="pt")
    client.send(before)
    seen = outcomes.wait(lambda rs: outcome(rs, before["message_id"], "delivered"), 30, f"before\n{worker.tail()}")
    routed = [r for r in seen if r["message_id"] == before["message_id"] and r["status"] == "routed"]
    assert (routed[0]["channel"], routed[0]["reason"]) == ("SMS", "template_not_approved")
    assert [m["channel"] for m in stack.sent(first)] == ["SMS"]

    meta = Settings.from_env(stack.env()).meta
    submitter = MetaTemplates(meta)

    async def submit() -> str:
        try:
            return (await submitter.submit(template, "pt")).template_id
        finally:
            await submitter.aclose()

    template_id = asyncio.run(submit())
    versions = templates.wait(lambda rs: any(r["name"] == name and r["version"] == 2 for r in rs), 30,
                              f"review\n{worker.tail()}")
    approved = next(r for r in versions if r["name"] == name and r["version"] == 2)
    (pt,) = approved["languages"]
    assert (pt["whatsapp_status"], pt["whatsapp_template_id"], approved["updated_by"]) == ("APPROVED", template_id,
                                                                                          "meta")
    time.sleep(1.0)

    after = client.request(second, template=name, params=PARAMS, language="pt")
    client.send(after)
    seen = outcomes.wait(lambda rs: outcome(rs, after["message_id"], "delivered"), 30, f"after\n{worker.tail()}")
    routed = [r for r in seen if r["message_id"] == after["message_id"] and r["status"] == "routed"]
    assert (routed[0]["channel"], routed[0]["reason"]) == ("WHATSAPP", "first_choice")
    (wa,) = stack.sent(second)
    assert (wa["channel"], wa["kind"], wa["template"], wa["language"]) == ("WHATSAPP", "template", name, "pt_BR")


def test_a_rejected_template_stays_off_whatsapp(stack: Stack, client: Client, worker: Proc) -> None:
    name = f"reject_{uuid.uuid4().hex[:8]}"
    template = replace(lembrete(name))
    templates = client.reader("templates")
    client.publish("templates", template_key(ORG, name), to_record(template), 0)
    submitter = MetaTemplates(Settings.from_env(stack.env()).meta)

    async def submit() -> None:
        try:
            await submitter.submit(template, "pt")
        finally:
            await submitter.aclose()

    asyncio.run(submit())
    versions = templates.wait(lambda rs: any(r["name"] == name and r["version"] == 2 for r in rs), 30,
                              f"review\n{worker.tail()}")
    (pt,) = next(r for r in versions if r["name"] == name and r["version"] == 2)["languages"]
    assert (pt["whatsapp_status"], pt["whatsapp_reason"]) == ("REJECTED", "INVALID_FORMAT")
