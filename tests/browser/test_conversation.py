"""A patient writes on WhatsApp (through the provider simulator's inbound webhook, a stream worker and the
gateway); the receptionist, with the keyboard only, sees the notice arrive live, opens the conversation,
reads the patient's words, replies, and watches the reply reach `delivered` without reloading."""
from __future__ import annotations

import httpx
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.wait import WebDriverWait

from gateway.console.context import dom_id
from schemas.numbers import canonical_number
from stack.cli import DEMO_SENDER_KEY
from stack.demo import META_PHONE_NUMBER_ID
from stack.screenshots import REACHED
from tests.browser import axe
from tests.browser.clinic import RECEPTION, Clinic, live, sign_in, tab_to, text_of, type_into
from tests.browser.conftest import Browsers

PHONE = "+5215550004343"
WORDS = "Buenos días, ¿puedo llegar 15 minutos tarde a mi cita?"
REPLY = "Sí, no se preocupe. La esperamos."
AGAIN = "Gracias, allí estaré."


def clinic_sends(clinic: Clinic, phone: str) -> None:
    """A reminder through the gateway's API to a patient who never wrote: the WhatsApp window is closed."""
    body = {"to": phone, "channels": ["WHATSAPP", "SMS"], "priority": "urgent",
            "template": {"name": "appointment_confirmed", "language": "es",
                         "params": {"date": "2 de mayo", "time": "09:00"}}}
    r = httpx.post(f"{clinic.pipeline.gateway_url}/v1/messages", json=body, timeout=30,
                   headers={"Authorization": f"Bearer {DEMO_SENDER_KEY}", "Idempotency-Key": f"conv-{phone}"})
    assert r.status_code == 202, r.text


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

    # the patient writes again: the open page says so (counts, never words) and a link shows it
    patient_writes(clinic, AGAIN)
    WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.ID, "conv-news-show"))
    assert "New messages from the patient: 1." in text_of(driver, "conv-news") and AGAIN not in driver.page_source
    axe.assert_accessible(driver, "the conversation page announcing a new message")
    tab_to(driver, "conv-news-show").send_keys(Keys.ENTER)
    WebDriverWait(driver, 10).until(lambda d: AGAIN in text_of(d, "thread"))


def test_outside_the_window_the_receptionist_replies_with_a_template_by_keyboard(clinic: Clinic, browser: Browsers):
    phone = "+5215550004444"
    clinic_sends(clinic, phone)
    rid = clinic.patient(RECEPTION.organization, phone)
    driver = browser()
    sign_in(driver, clinic, RECEPTION)
    driver.get(f"{clinic.url}/patients/{rid}/conversation")

    def shown(d: WebDriver) -> bool:  # the page is a 404 until the gateway's view read the send
        if d.find_elements(By.ID, "thread") and "2 de mayo" in text_of(d, "thread"):
            return True
        d.refresh()
        return False

    WebDriverWait(driver, 30, poll_frequency=1).until(shown)
    assert text_of(driver, "window").startswith("Closed") and not driver.find_elements(By.ID, "reply-text")
    axe.assert_accessible(driver, "the conversation page with the template picker")

    tab_to(driver, "reply-template").send_keys("appointment_confirmed")  # a select answers to typing
    tab_to(driver, "template-show").send_keys(Keys.ENTER)
    WebDriverWait(driver, 10).until(lambda d: d.find_elements(By.ID, "param-date"))
    assert "[date]" in text_of(driver, "reply-preview"), "the preview shows what is still to fill in"
    type_into(driver, "param-date", "5 de mayo")
    type_into(driver, "param-time", "11:15")
    tab_to(driver, "reply-preview-button").send_keys(Keys.ENTER)
    WebDriverWait(driver, 10).until(lambda d: "5 de mayo a las 11:15" in text_of(d, "reply-preview"))
    axe.assert_accessible(driver, "the template's preview")
    tab_to(driver, "reply-send").send_keys(Keys.ENTER)
    WebDriverWait(driver, 10).until(lambda d: "sent=" in d.current_url)
    status = f"status-{dom_id(driver.current_url.split('sent=')[1].split('#')[0])}"
    WebDriverWait(driver, 60).until(lambda d: any(w in d.find_element(By.ID, status).text for w in REACHED))
    assert "5 de mayo a las 11:15" in text_of(driver, "thread")
