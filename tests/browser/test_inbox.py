"""A receptionist's morning in the inbox, in real browsers against the real stack: a notice arrives live,
is acknowledged by keyboard, leaves a colleague's inbox too, and another clinic never sees it."""
from __future__ import annotations

import time

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.wait import WebDriverWait

from gateway.console.context import dom_id
from tests.browser import axe
from tests.browser.clinic import COLLEAGUE, OTHER_CLINIC, RECEPTION, Clinic, live, sign_in, tab_to, text_of
from tests.browser.conftest import Browsers

LIVE_WITHIN_S = 2.0


def shown(driver: WebDriver, element_id: str) -> bool:
    return bool(driver.find_elements(By.ID, element_id))


def open_inbox(driver: WebDriver, clinic: Clinic, person) -> None:
    sign_in(driver, clinic, person)
    assert driver.current_url.startswith(f"{clinic.url}/inbox"), driver.current_url
    live(driver)
    driver.execute_script("window.__sameDocument = true")  # gone after any reload or navigation


def same_document(driver: WebDriver) -> bool:
    return bool(driver.execute_script("return window.__sameDocument === true"))


def test_a_notice_arrives_live_is_acknowledged_by_keyboard_and_leaves_every_inbox_of_the_clinic(
        clinic: Clinic, browser: Browsers):
    reception, colleague, other = browser(), browser("colleague"), browser("other-clinic")
    open_inbox(reception, clinic, RECEPTION)
    axe.assert_accessible(reception, "the inbox")
    open_inbox(colleague, clinic, COLLEAGUE)
    open_inbox(other, clinic, OTHER_CLINIC)

    notice_id = clinic.notice("demo-clinic", "reschedule_requested")
    published = time.monotonic()
    card = dom_id(notice_id)
    WebDriverWait(reception, LIVE_WITHIN_S).until(lambda d: shown(d, card))
    arrived_s = time.monotonic() - published
    assert arrived_s <= LIVE_WITHIN_S and same_document(reception), "the notice appears without a reload"
    WebDriverWait(colleague, LIVE_WITHIN_S).until(lambda d: shown(d, card))
    assert text_of(reception, f"{card}-state") == "Open"  # status in words, not only a colour
    axe.assert_accessible(reception, "the inbox with a notice that arrived live")

    tab_to(reception, f"{card}-acknowledged").send_keys(Keys.ENTER)
    WebDriverWait(colleague, 5).until(lambda d: not shown(d, card))
    assert same_document(colleague), "the colleague's inbox dropped it live"
    reception.get(f"{clinic.url}/inbox")
    assert not shown(reception, card)
    axe.assert_accessible(reception, "the inbox after acknowledging")

    assert same_document(other) and not shown(other, card)
    other.get(f"{clinic.url}/inbox")
    assert not shown(other, card) and notice_id not in other.page_source, "another clinic sees none of it"
    axe.assert_accessible(other, "another clinic's inbox")


def test_a_form_without_its_csrf_token_is_refused(clinic: Clinic, browser: Browsers):
    driver = browser()
    notice_id = clinic.notice("demo-clinic", "cancel_requested")
    sign_in(driver, clinic, RECEPTION)
    card = dom_id(notice_id)
    WebDriverWait(driver, 10).until(lambda d: shown(d, card) or d.refresh())

    # the same action a page elsewhere could forge: the right fields, no token
    driver.execute_script("""
        const form = document.createElement('form');
        form.method = 'post';
        form.action = arguments[0];
        for (const [name, value] of [['action', 'acknowledged'], ['reason', '']]) {
          const input = document.createElement('input');
          input.type = 'hidden'; input.name = name; input.value = value;
          form.appendChild(input);
        }
        document.body.appendChild(form);
        form.submit();""", f"/console/inbox/{notice_id}")
    WebDriverWait(driver, 10).until(lambda d: shown(d, "refusal"))
    status = driver.execute_script("return performance.getEntriesByType('navigation')[0].responseStatus")
    assert status == 403
    assert text_of(driver, "page-title") == "The form has expired"
    axe.assert_accessible(driver, "the refused form")

    driver.get(f"{clinic.url}/inbox")
    assert text_of(driver, f"{card}-state") == "Open", "the forged form changed nothing"
