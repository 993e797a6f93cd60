"""A message the clinic sent reaches the patient (through a stream worker and the provider simulator), and
the receptionist, finding it by id with the keyboard, reads its way to `delivered` in words; then the
day's appointments."""
from __future__ import annotations

from selenium.webdriver.common.keys import Keys

from stack.screenshots import REACHED, send_message, wait_delivered
from tests.browser import axe
from tests.browser.clinic import RECEPTION, Clinic, sign_in, tab_to, text_of, type_into
from tests.browser.conftest import Browsers


def test_a_sent_message_reaches_delivered_and_its_page_says_so(clinic: Clinic, browser: Browsers):
    message_id = send_message(clinic.pipeline.gateway_url)
    driver = browser()
    sign_in(driver, clinic, RECEPTION)
    tab_to(driver, "nav-find").send_keys(Keys.ENTER)
    type_into(driver, "message-id", message_id)
    tab_to(driver, "message-find-button").send_keys(Keys.ENTER)
    assert driver.current_url == f"{clinic.url}/messages/{message_id}"

    wait_delivered(driver)  # reloads the page until the status says so
    assert any(word in text_of(driver, "message-history") for word in REACHED)
    axe.assert_accessible(driver, "the message page")

    tab_to(driver, "nav-appointments").send_keys(Keys.ENTER)
    assert driver.current_url.startswith(f"{clinic.url}/appointments")
    axe.assert_accessible(driver, "the appointments page")
