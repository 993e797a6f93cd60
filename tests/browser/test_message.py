"""A message the clinic sent reaches the patient (through a stream worker and the provider simulator), and
the receptionist, finding it by id with the keyboard, reads its way to `delivered` in words; then the
day's appointments."""
from __future__ import annotations

import time
import uuid

import httpx
from selenium.webdriver.common.keys import Keys

from tests.browser import axe
from tests.browser.clinic import RECEPTION, Clinic, sign_in, tab_to, text_of, type_into
from tests.browser.conftest import Browsers

SENDER = {"Authorization": "Bearer demo-clinic-sender-key"}
REACHED = ("Delivered", "Read")


def send(clinic: Clinic) -> str:
    body = {"to": "+5215550007001", "recipient_name": "Xochitl Quetzalli", "patient_ref": "MRN-77001",
            "channels": ["WHATSAPP", "SMS"], "priority": "urgent",  # urgent: no quiet hours, whatever the hour
            "template": {"name": "urgent_notice", "language": "es",
                         "params": {"clinic": "Clinica Sur", "notice": "Resultado listo, llame hoy"}}}
    with httpx.Client(base_url=clinic.pipeline.gateway_url, headers=SENDER, timeout=30) as api:
        r = api.post("/v1/messages", json=body, headers={"Idempotency-Key": f"ui-{uuid.uuid4().hex}"})
    assert r.status_code == 202, r.text
    return str(r.json()["message_id"])


def test_a_sent_message_reaches_delivered_and_its_page_says_so(clinic: Clinic, browser: Browsers):
    message_id = send(clinic)
    driver = browser()
    sign_in(driver, clinic, RECEPTION)
    tab_to(driver, "nav-find").send_keys(Keys.ENTER)
    type_into(driver, "message-id", message_id)
    tab_to(driver, "message-find-button").send_keys(Keys.ENTER)
    assert driver.current_url == f"{clinic.url}/messages/{message_id}"

    deadline = time.monotonic() + 60
    while text_of(driver, "message-status") not in REACHED:
        assert time.monotonic() < deadline, f"still {text_of(driver, 'message-status')!r} after 60 s"
        time.sleep(1)
        driver.refresh()
    assert any(word in text_of(driver, "message-history") for word in REACHED)
    axe.assert_accessible(driver, "the message page")

    tab_to(driver, "nav-appointments").send_keys(Keys.ENTER)
    assert driver.current_url.startswith(f"{clinic.url}/appointments")
    axe.assert_accessible(driver, "the appointments page")
