"""A patient writes on WhatsApp (through the provider simulator's inbound webhook, a stream worker and the
gateway); the receptionist, with the keyboard only, sees the notice arrive live, opens the conversation,
reads the patient's words, replies, and watches the reply reach `delivered` without reloading."""
from __future__ import annotations

import httpx
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.wait import WebDriverWait

from gateway.console.context import dom_id
from schemas.numbers import canonical_number
from stack.demo import META_PHONE_NUMBER_ID
from stack.screenshots import REACHED
from tests.browser import axe
from tests.browser.clinic import RECEPTION, Clinic, live, sign_in, tab_to, text_of, type_into
from tests.browser.conftest import Browsers

PHONE = "+5215550004343"
WORDS = "Buenos días, ¿puedo llegar 15 minutos tarde a mi cita?"
REPLY = "Sí, no se preocupe. La esperamos."


def patient_writes(clinic: Clinic, text: str) -> None:
    """The patient's WhatsApp message, as Meta's signed webhook brings it to the gateway."""
    r = httpx.post(f"{clinic.pipeline.simulator_url}/_sim/inbound", timeout=30,
                   json={"provider": "meta", "from": PHONE, "to": META_PHONE_NUMBER_ID, "text": text})
    assert r.status_code == 200, r.text


def test_the_receptionist_reads_the_patient_and_replies_and_the_reply_reaches_delivered(
        clinic: Clinic, browser: Browsers):
    driver = browser()
    sign_in(driver, clinic, RECEPTION)
    live(driver)
    rid = clinic.patient(RECEPTION.organization, PHONE)
    patient_writes(clinic, WORDS)
    # free text nobody else answers (no assistant in this clinic) comes to staff: the notice arrives live
    link = (By.CSS_SELECTOR, f'a[href="/console/patients/{rid}/conversation"]')
    WebDriverWait(driver, 30).until(lambda d: d.find_elements(*link))
    assert WORDS not in driver.page_source, "the inbox never shows the patient's words"

    tab_to(driver, str(driver.find_element(*link).get_attribute("id"))).send_keys(Keys.ENTER)
    WebDriverWait(driver, 10).until(lambda d: d.current_url == f"{clinic.url}/patients/{rid}/conversation")
    assert WORDS in text_of(driver, "thread") and text_of(driver, "patient-phone") == canonical_number(PHONE)
    assert text_of(driver, "window").startswith("Open until")
    axe.assert_accessible(driver, "the conversation page")

    type_into(driver, "reply-text", REPLY)
    tab_to(driver, "reply-send").send_keys(Keys.ENTER)
    WebDriverWait(driver, 10).until(lambda d: "sent=" in d.current_url)
    message_id = driver.current_url.split("sent=")[1].split("#")[0]
    status = f"status-{dom_id(message_id)}"
    thread = text_of(driver, "thread")
    assert thread.index(WORDS) < thread.index(REPLY), "the thread is in order"
    assert driver.find_elements(By.ID, "reply-sent")
    axe.assert_accessible(driver, "the conversation page after a reply")

    url = driver.current_url
    WebDriverWait(driver, 60).until(lambda d: any(w in d.find_element(By.ID, status).text for w in REACHED))
    assert driver.current_url == url, "the status ticked without a reload"
    assert "WhatsApp" in text_of(driver, status), "the status says the channel in words"
    axe.assert_accessible(driver, "the conversation page with a delivered reply")
