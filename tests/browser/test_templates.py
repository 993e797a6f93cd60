"""A clinic admin adds a Portuguese template with the keyboard, sees it waiting for Meta's review, then
approved once the provider's review webhook has come back through the pipeline, and the clinic's next
message with it goes out on WhatsApp; axe-core finds nothing on any page."""
from __future__ import annotations

import time
import uuid

import httpx
from selenium.webdriver.common.keys import Keys

from stack.cli import DEMO_SENDER_KEY
from tests.browser import axe
from tests.browser.clinic import ADMIN, Clinic, sign_in, tab_to, text_of, type_into
from tests.browser.conftest import Browsers


def test_an_admin_adds_a_portuguese_template_and_sees_it_approved(clinic: Clinic, browser: Browsers):
    driver = browser("admin")
    sign_in(driver, clinic, ADMIN)
    tab_to(driver, "nav-templates").send_keys(Keys.ENTER)
    assert driver.current_url.startswith(f"{clinic.url}/admin/templates")
    assert "appointment_reminder" in text_of(driver, "template-appointment_reminder-name")
    axe.assert_accessible(driver, "the templates page")

    name = f"lembrete_{uuid.uuid4().hex[:6]}"
    type_into(driver, "tpl-name", name)
    type_into(driver, "tpl-params", "clinic, date")
    type_into(driver, "tpl-body", "Ola! Sua consulta na {clinic} e no dia {date}.")
    type_into(driver, "tpl-sms", "Consulta na {clinic}, dia {date}.")
    type_into(driver, "tpl-voice", "Sua consulta na {clinic} e no dia {date}.")
    tab_to(driver, "template-add").send_keys(Keys.ENTER)

    assert driver.current_url.startswith(f"{clinic.url}/admin/templates/{name}")
    assert "Version 1 saved" in text_of(driver, "template-done")
    status = text_of(driver, "template-preview-pt-status")
    assert "Waiting for review" in status or "Approved" in status  # the review may already be back
    axe.assert_accessible(driver, "a template's page")

    deadline = time.monotonic() + 30
    while "Approved" not in text_of(driver, "template-preview-pt-status"):
        assert time.monotonic() < deadline, "the review never arrived"
        time.sleep(1)
        driver.get(f"{clinic.url}/admin/templates/{name}")
    assert "Version 2" in text_of(driver, "template-about")  # Meta's review is the next version
    axe.assert_accessible(driver, "an approved template's page")

    body = {"to": "+525550003101", "channels": ["WHATSAPP", "SMS"], "priority": "urgent",  # no quiet hours
            "template": {"name": name, "language": "pt", "params": {"clinic": "Clinica Sul", "date": "3/5"}}}
    r = httpx.post(f"{clinic.pipeline.gateway_url}/v1/messages", json=body, timeout=30,
                   headers={"Authorization": f"Bearer {DEMO_SENDER_KEY}", "Idempotency-Key": uuid.uuid4().hex})
    assert r.status_code == 202, r.text
    state: dict[str, object] = {}
    deadline = time.monotonic() + 30
    while state.get("status") not in ("delivered", "read"):
        assert time.monotonic() < deadline, f"not delivered: {state}"
        time.sleep(0.5)
        got = httpx.get(f"{clinic.pipeline.gateway_url}/v1/messages/{r.json()['message_id']}", timeout=10,
                        headers={"Authorization": f"Bearer {DEMO_SENDER_KEY}"})
        state = got.json() if got.status_code == 200 else {}
    assert state["channel"] == "WHATSAPP"
