"""Meta's template API: the submission body and the review webhook as tables, and the simulator's API
with its signed review webhook over HTTP."""
from __future__ import annotations

import time
import uuid
from dataclasses import replace
from typing import Any

import pytest

from connectors.meta.templates import FIELD, MetaTemplates, review_of, reviews_in, submission
from connectors.meta.webhooks import PATH as META_PATH
from connectors.meta.webhooks import items_of
from connectors.templates import TEMPLATE_STATUS, SubmitRefused
from schemas.templates import Rendering, Template, default_catalog
from tests.connectors.conftest import SETTINGS, Stack, sim_settings

SETTINGS_VERSION = SETTINGS.meta.api_version

PT = Rendering("lembrete_consulta", "pt_BR", ("confirm", "cancel"), "SMS {clinic}", "voz {clinic}",
               body="Ola, sua consulta em {clinic} no dia {date} as {time}.", whatsapp_status="PENDING")
LEMBRETE = Template("lembrete_consulta", "UTILITY", ("clinic", "date", "time"), "confirm_cancel", {"pt": PT},
                    organization_id="clinic-42", version=1)


def test_submission_numbers_parameters_in_declaration_order() -> None:
    assert submission(LEMBRETE, "pt") == {
        "name": "lembrete_consulta", "language": "pt_BR", "category": "UTILITY",
        "components": [
            {"type": "BODY", "text": "Ola, sua consulta em {{1}} no dia {{2}} as {{3}}.",
             "example": {"body_text": [["<clinic>", "<date>", "<time>"]]}},
            {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "confirm"},
                                            {"type": "QUICK_REPLY", "text": "cancel"}]},
        ]}


def test_a_seed_without_a_body_submits_its_sms_text() -> None:
    seed = default_catalog().get("appointment_confirmed")
    assert submission(seed, "es")["components"] == [
        {"type": "BODY", "text": "Gracias, su cita del {{1}} a las {{2}} queda confirmada.",
         "example": {"body_text": [["<date>", "<time>"]]}}]


@pytest.mark.parametrize(("value", "review"), [
    pytest.param({"event": "APPROVED", "message_template_id": 77, "message_template_name": "t",
                  "message_template_language": "pt_BR", "reason": "NONE"},
                 {"template_id": "77", "name": "t", "language": "pt_BR", "status": "APPROVED", "reason": None},
                 id="approved"),
    pytest.param({"event": "REJECTED", "message_template_id": 77, "message_template_name": "t",
                  "message_template_language": "pt-BR", "reason": "INVALID_FORMAT"},
                 {"template_id": "77", "name": "t", "language": "pt_BR", "status": "REJECTED",
                  "reason": "INVALID_FORMAT"}, id="rejected-with-reason-dashed-locale"),
    pytest.param({"event": "PAUSED", "message_template_id": 77, "message_template_name": "t",
                  "message_template_language": "pt_BR"}, None, id="event-not-recorded"),
    pytest.param({"event": "APPROVED", "message_template_id": 77}, None, id="no-name"),
])
def test_review_of(value: dict[str, Any], review: dict[str, Any] | None) -> None:
    assert review_of(value) == review


def webhook(*changes: dict[str, Any]) -> dict[str, Any]:
    return {"object": "whatsapp_business_account", "entry": [{"id": "waba-1", "changes": list(changes)}]}


def test_review_changes_become_template_status_items() -> None:
    change = {"field": FIELD, "value": {"event": "APPROVED", "message_template_id": 77,
                                        "message_template_name": "t", "message_template_language": "pt_BR"}}
    other = {"field": "message_template_quality_update", "value": {"message_template_id": 77}}
    assert [r for r, _ in reviews_in(webhook(change, other))] == [review_of(change["value"])]
    (item,) = items_of(webhook(change, other), lambda _: None)
    assert (item.kind, item.organization_id, item.patient, item.fallback_key) == (TEMPLATE_STATUS, None, None,
                                                                                 "template:77")
    assert item.fields["status"] == "APPROVED" and item.query == {"waba_id": "waba-1"}
    assert reviews_in({"entry": "junk"}) == [] and reviews_in([]) == []


def _reviews(stack: Stack, name: str, timeout_s: float = 10.0) -> list[dict[str, Any]]:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        found = [h.body for h in stack.gateway.of(META_PATH) if h.body and h.signature_ok
                 and h.body["entry"][0]["changes"][0]["field"] == FIELD
                 and h.body["entry"][0]["changes"][0]["value"]["message_template_name"] == name]
        if found:
            return found
        time.sleep(0.05)
    return []


@pytest.mark.anyio
@pytest.mark.parametrize(("name", "event", "reason"), [
    pytest.param("lembrete_{}", "APPROVED", "NONE", id="approved-after-a-delay"),
    pytest.param("reject_me_{}", "REJECTED", "INVALID_FORMAT", id="rejected-on-demand"),
])
async def test_the_simulator_reviews_a_submission_by_signed_webhook(stack: Stack, name: str, event: str,
                                                                   reason: str) -> None:
    name = name.format(uuid.uuid4().hex[:8])
    client = MetaTemplates(sim_settings(stack).meta)
    try:
        template = replace(LEMBRETE, name=name, languages={"pt": replace(PT, whatsapp_name=name)})
        submitted = await client.submit(template, "pt")
        assert submitted.status == "PENDING" and submitted.template_id.isdigit()
        with pytest.raises(SubmitRefused) as again:  # one name and language once
            await client.submit(template, "pt")
        assert again.value.http_status == 400
    finally:
        await client.aclose()
    (body,) = _reviews(stack, name)
    value = body["entry"][0]["changes"][0]["value"]
    assert (value["event"], value["reason"], str(value["message_template_id"])) == (event, reason,
                                                                                   submitted.template_id)


@pytest.mark.anyio
async def test_a_wrong_token_is_refused(stack: Stack) -> None:
    from starlette.datastructures import Secret

    settings = sim_settings(stack)
    client = MetaTemplates(replace(settings.meta, access_token=Secret("wrong")))
    try:
        with pytest.raises(SubmitRefused) as refused:
            await client.submit(LEMBRETE, "pt")
        assert (refused.value.reason, refused.value.http_status) == ("provider_refused_190", 401)
    finally:
        await client.aclose()


@pytest.mark.anyio
async def test_a_form_meta_holds_is_edited_under_its_id_and_reviewed_again(stack: Stack) -> None:
    name = f"editado_{uuid.uuid4().hex[:8]}"
    client = MetaTemplates(sim_settings(stack).meta)
    try:
        template = replace(LEMBRETE, name=name, languages={"pt": replace(PT, whatsapp_name=name)})
        first = await client.submit(template, "pt")
        changed = replace(PT, whatsapp_name=name, body="Nova: {clinic}, {date}, {time}.",
                          whatsapp_template_id=first.template_id)
        again = await client.submit(replace(template, languages={"pt": changed}), "pt")
        assert (again.template_id, again.status) == (first.template_id, "PENDING")
        unknown = replace(changed, whatsapp_template_id="999")
        with pytest.raises(SubmitRefused):
            await client.submit(replace(template, languages={"pt": unknown}), "pt")
    finally:
        await client.aclose()
    end = time.monotonic() + 10
    while len(_reviews(stack, name, 0.1)) < 2:
        assert time.monotonic() < end, "the edit was not reviewed again"
        time.sleep(0.1)
    with stack.sim() as c:
        (held,) = [t for t in c.get(f"/{SETTINGS_VERSION}/{sim_settings(stack).meta.waba_id}/message_templates",
                                    headers={"Authorization": f"Bearer {sim_settings(stack).meta.access_token}"})
                   .json()["data"] if t["name"] == name]
    assert held["components"][0]["text"] == "Nova: {{1}}, {{2}}, {{3}}."
