"""A patient on their phone: the link from the clinic's message opens their appointment and messages, a
message the clinic sends in-app appears without a reload, and one tap confirms; the page passes axe-core
at a phone's size and at 200 % zoom. A forged link and an expired one get the same page."""
from __future__ import annotations

import base64
import time
import uuid

import httpx
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.wait import WebDriverWait

from gateway.patient import links
from schemas.phi import Binding, PhiCipher
from stack.cli import DEMO_SENDER_KEY
from tests.browser import axe
from tests.browser.clinic import Clinic, tab_to, text_of
from tests.browser.conftest import Browsers
from tests.gateway.helpers import read_topic

PHONE = "+5215550007033"  # a patient no other journey writes to
PHONE_SIZE = (390, 844)  # CSS pixels of a common phone
HOUR_MS = 3_600_000
NOTICE = "Su estudio ya esta listo"  # plain ASCII: the SMS rendering folds accents


def make_link(clinic: Clinic) -> dict[str, str]:
    r = httpx.post(f"{clinic.pipeline.gateway_url}/v1/patient-links", timeout=30,
                   headers={"Authorization": f"Bearer {DEMO_SENDER_KEY}"}, json={"to": PHONE, "language": "es"})
    assert r.status_code == 201, r.text
    return dict(r.json())


def plan(clinic: Clinic, rid: str, appt: str, question: str) -> None:
    now = int(time.time() * 1000)
    clinic._produce(clinic.catalog.appointment_plans, f"demo-clinic|{appt}", {
        "organization_id": "demo-clinic", "appointment_id": appt, "recipient_id": rid, "kind": "BOOKED",
        "start_at": now + 30 * HOUR_MS, "timezone": "America/Mexico_City", "urgent": False,
        "reminders": [{"name": "24h", "offset_s": 86400, "due_at": now - HOUR_MS, "state": "sent", "reason": None,
                       "message_id": question}],
        "impossible": None, "updated_at": now})


def send_inapp(clinic: Clinic) -> None:
    body = {"to": PHONE, "channels": ["INAPP"], "priority": "urgent",
            "template": {"name": "urgent_notice", "language": "es", "params": {"clinic": "Clinica Sur",
                                                                              "notice": NOTICE}}}
    r = httpx.post(f"{clinic.pipeline.gateway_url}/v1/messages", json=body, timeout=30,
                   headers={"Authorization": f"Bearer {DEMO_SENDER_KEY}", "Idempotency-Key": uuid.uuid4().hex})
    assert r.status_code == 202, r.text


def expired_link(clinic: Clinic, rid: str) -> str:
    """A link as the API writes it, whose week is over."""
    s, link_id, now = clinic.settings, links.new_link_id(), int(time.time() * 1000)
    clinic._produce(clinic.catalog.patient_links, link_id, {
        "link_id": link_id, "organization_id": "demo-clinic", "recipient_id": rid,
        "recipient": PhiCipher(s.phi_keys).seal("recipient", PHONE, Binding("demo-clinic", link_id)),
        "language": "es", "created_at": now - 8 * 24 * HOUR_MS, "expires_at": now - 24 * HOUR_MS, "device": None,
        "created_by": "tests"})
    return links.token_for(base64.b64decode(str(s.patient_page.link_key)), link_id)


def test_a_patient_opens_the_link_sees_a_message_arrive_live_and_confirms(clinic: Clinic, browser: Browsers):
    made = make_link(clinic)
    appt, question = f"appt-{uuid.uuid4().hex[:8]}", f"m-{uuid.uuid4().hex[:8]}"
    plan(clinic, made["recipient_id"], appt, question)

    phone = browser("patient", language="es")
    phone.set_window_size(*PHONE_SIZE)
    for _ in range(100):  # the plan reaches the gateway's view within moments
        phone.get(made["url"])
        if phone.find_elements(By.ID, "appointment-1"):
            break
        time.sleep(0.2)
    assert "Sus citas y mensajes" in phone.find_element(By.TAG_NAME, "h1").text
    axe.assert_accessible(phone, "the patient page on a phone")
    WebDriverWait(phone, 10).until(lambda d: d.execute_script("return window.htmx !== undefined"))

    send_inapp(clinic)  # through the API, a stream worker and the in-app connector
    WebDriverWait(phone, 30).until(lambda d: NOTICE in text_of(d, "messages"))
    axe.assert_accessible(phone, "the patient page after a live message")

    # 200 % zoom of a 1280 x 800 window: 640 CSS pixels wide, each drawn twice as large
    phone.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                          {"width": 640, "height": 400, "deviceScaleFactor": 2, "mobile": False})
    assert phone.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
    axe.assert_accessible(phone, "the patient page at 200 % zoom")
    phone.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})

    tab_to(phone, "appointment-1-confirm").send_keys(Keys.ENTER)
    WebDriverWait(phone, 15).until(lambda d: d.find_elements(By.ID, "done"))
    assert "Recibimos su confirmación" in text_of(phone, "done")
    axe.assert_accessible(phone, "the patient page after confirming")
    topic = clinic.catalog.appointment_events
    confirmed = read_topic(clinic.settings.kafka.bootstrap, topic.name, topic.codec, count=1, timeout_s=30,
                           where=lambda x: x["type"] == "appointment.confirmed" and x["message_id"] == question)
    assert confirmed and confirmed[0][1]["channel"] == "INAPP"  # the stream worker took the tap as an answer

    # the link belongs to this phone now; on another, as forged or expired, it is the same page
    stranger = browser("stranger", language="es")
    stranger.set_window_size(*PHONE_SIZE)
    base = clinic.pipeline.gateway_url
    pages = []
    for url in (made["url"], f"{base}/p/{links.token_for(b'forged-key-00000', links.new_link_id())}",
                f"{base}/p/{expired_link(clinic, made['recipient_id'])}"):
        stranger.get(url)
        pages.append(stranger.find_element(By.ID, "main-content").text)
    assert len(set(pages)) == 1 and "Este enlace no funciona" in pages[0]
    axe.assert_accessible(stranger, "the refused link's page")
