"""The admin's templates page on the real broker, against the provider simulator's template API: every
template with its renderings, a Portuguese template added (submitted for review, a version on
`templates`, audited), previewed with sample values and edited; bad input answered with the error
summary; staff refused; CSRF required."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace

import pytest
from starlette.testclient import TestClient

from gateway.app import create_app
from schemas.settings import Settings
from stack.simulator.server import SimulatorServer
from stack.simulator.state import SimulatorConfig
from tests.gateway.console.support import csrf, sign_in, wait_console, write_accounts
from tests.gateway.helpers import read_topic, wait_ready

PATH = "/console/admin/templates"


@pytest.fixture(scope="module")
def sim(shared_settings: Settings) -> Iterator[SimulatorServer]:
    # the review webhook goes nowhere here (tests/streams/test_template_approval.py follows it through)
    config = SimulatorConfig.from_settings(shared_settings, gateway_url="http://127.0.0.1:9", webhook_retries=0,
                                           template_review_s=60.0)
    with SimulatorServer(config) as server:
        yield server


@pytest.fixture(scope="module")
def gateway(shared_settings: Settings, sim: SimulatorServer) -> Iterator[TestClient]:
    settings = replace(shared_settings, meta=replace(shared_settings.meta, base_url=sim.url))
    write_accounts(settings)
    with TestClient(create_app(settings)) as c:
        wait_ready(c)
        wait_console(c.app)
        yield c


def new_template(name: str, token: str) -> dict[str, str]:
    return {"name": name, "category": "UTILITY", "params": "clinic, date", "language": "pt",
            "body": "Ola! Sua consulta em {clinic} e no dia {date}.", "sms": "Consulta em {clinic}, {date}.",
            "voice": "Sua consulta em {clinic} e no dia {date}.", "csrf": token}


def test_an_admin_adds_previews_and_edits_a_portuguese_template(gateway, shared_settings):
    dana = TestClient(gateway.app)
    assert sign_in(dana, "demo-clinic", "dana").status_code == 303
    page = dana.get(PATH)
    assert page.status_code == 200 and 'id="nav-templates"' in page.text
    assert 'id="template-appointment_reminder-languages-pt-status"' in page.text  # the seeds, per language
    assert "Hola [patient_name], le recordamos su cita en [clinic]" in page.text

    name = f"lembrete_{uuid.uuid4().hex[:6]}"
    bad = dana.post(PATH, data={**new_template(name, csrf(page.text)), "sms": "Consulta em {clinica}",
                                "name": "Lembrete"})
    assert bad.status_code == 400 and 'href="#tpl-name"' in bad.text and 'href="#tpl-sms"' in bad.text
    r = dana.post(PATH, data=new_template(name, csrf(page.text)), follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"{PATH}/{name}?language=pt&done=1"
    shown = dana.get(r.headers["location"])
    assert 'id="template-done"' in shown.text
    status = 'id="template-preview-pt-status"><strong class="govuk-tag govuk-tag--yellow">Waiting for review'
    assert status in shown.text

    topic = gateway.app.state.services.topics.templates
    (record,) = [x for _, x in read_topic(shared_settings.kafka.bootstrap, topic.name, topic.codec, count=1,
                                          where=lambda x: x["name"] == name)]
    (pt,) = record["languages"]
    assert (record["organization_id"], record["version"], record["updated_by"]) == ("demo-clinic", 1, "dana")
    assert (pt["whatsapp_language"], pt["whatsapp_status"]) == ("pt_BR", "PENDING")
    assert pt["whatsapp_template_id"]  # Meta's (the simulator's) id

    preview = dana.post(f"{PATH}/{name}/preview", data={"param_clinic": "Clinica Sul", "param_date": "",
                                                         "csrf": csrf(shown.text)})
    assert preview.status_code == 200
    assert "Ola! Sua consulta em Clinica Sul e no dia [date]." in preview.text

    r = dana.post(f"{PATH}/{name}", data={"category": "UTILITY", "language": "pt", "body": pt["body"],
                                          "sms": "Lembrete: {clinic}, {date}.", "voice": pt["voice"],
                                          "csrf": csrf(shown.text)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith("done=2")
    assert "Lembrete: [clinic], [date]." in dana.get(f"{PATH}/{name}").text
    assert name in [t["name"] for t in dana.get("/v1/templates", headers={
        "Authorization": "Bearer demo-clinic-sender-key"}).json()["templates"]]

    audit = gateway.app.state.services.topics.audit
    records = [x for _, x in read_topic(shared_settings.kafka.bootstrap, audit.name, audit.codec, count=2,
                                        where=lambda x: x["action"].startswith("console.templates.")
                                        and x["resource"] == name)]
    assert {(x["action"], x["details"]["version"]) for x in records} == {("console.templates.create", "1"),
                                                                        ("console.templates.edit", "2")}


def test_another_organization_sees_neither_the_template_nor_its_page(gateway):
    dana = TestClient(gateway.app)
    sign_in(dana, "demo-clinic", "dana")
    page = dana.get(PATH)
    name = f"propio_{uuid.uuid4().hex[:6]}"
    dana.post(PATH, data=new_template(name, csrf(page.text)), follow_redirects=False)
    olga = TestClient(gateway.app)
    sign_in(olga, "other-clinic", "olga")
    assert olga.get(PATH).status_code == 403  # staff
    alice = TestClient(gateway.app)
    sign_in(alice, "demo-clinic", "alice")
    assert alice.get(f"{PATH}/{name}").status_code == 403
    r = alice.post(PATH, data=new_template("mallory", csrf(alice.get("/console/inbox").text)))
    assert r.status_code == 403


def test_a_form_without_its_csrf_token_is_refused(gateway):
    dana = TestClient(gateway.app)
    sign_in(dana, "demo-clinic", "dana")
    r = dana.post(PATH, data=new_template(f"sem_{uuid.uuid4().hex[:6]}", "forged"))
    assert r.status_code == 403
