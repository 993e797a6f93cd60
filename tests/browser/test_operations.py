"""The clinic's admin keeps the channels running: a breaker that opens shows on the open operations page
without a reload, a dead letter is opened and replayed by keyboard alone, with the reason on the audit
trail, and a second replay is refused saying why; every page checked with axe-core."""
from __future__ import annotations

import time
import uuid

from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.wait import WebDriverWait

from stack import ops_demo
from stack.screenshots import shoot, staff_notice
from tests.browser import axe
from tests.browser.clinic import ADMIN, Clinic, focused, live, sign_in, tab_to, text_of, type_into
from tests.browser.conftest import Browsers

WHY = "the schema is registered again"


def test_the_admin_sees_a_breaker_open_live_and_replays_a_dead_letter_once(clinic: Clinic, browser: Browsers):
    org = ADMIN.organization
    original = staff_notice(org, "cancel_requested")
    now = int(time.time() * 1000)
    clinic._produce(clinic.catalog.dead_letter, original["recipient_id"], ops_demo.dead_letter(
        clinic.catalog.staff_notifications, original, "unmappable", "CareEvent: KeyError", now))

    driver = browser()
    sign_in(driver, clinic, ADMIN)
    tab_to(driver, "nav-operations").send_keys(Keys.ENTER)
    assert driver.current_url.startswith(f"{clinic.url}/operations")
    row = (By.CSS_SELECTOR, "#dead-letters tbody tr")
    deadline = time.monotonic() + 20
    while not driver.find_elements(*row):  # the gateway's view reads it within a moment
        assert time.monotonic() < deadline, "the dead letter never reached the page"
        time.sleep(0.5)
        driver.refresh()
    live(driver)
    axe.assert_accessible(driver, "the operations page")

    # a breaker opens while the page is open: it says so in words, without a reload
    instance = f"{org}-sms-twilio"
    assert "Closed" in text_of(driver, f"channel-{instance}-state")
    clinic._produce(clinic.catalog.circuit, instance,
                    ops_demo.circuit_event(org, "sms-twilio", "open", "closed", 5, int(time.time() * 1000)))
    WebDriverWait(driver, 5, ignored_exceptions=(StaleElementReferenceException,)).until(  # swapped while read
        lambda d: "Open" in text_of(d, f"channel-{instance}-state"))
    axe.assert_accessible(driver, "the operations page after a live update")

    link = driver.find_element(By.CSS_SELECTOR, "#dead-letters tbody tr a").get_attribute("id")
    tab_to(driver, str(link)).send_keys(Keys.ENTER)
    WebDriverWait(driver, 10).until(lambda d: d.find_elements(By.ID, "replay-form"))
    assert original["event_id"] in text_of(driver, "original")
    axe.assert_accessible(driver, "a dead letter's page")

    tab_to(driver, "replay").send_keys(Keys.ENTER)  # without a reason: the error summary links to the field
    WebDriverWait(driver, 10).until(lambda d: d.find_elements(By.ID, "error-summary"))
    axe.assert_accessible(driver, "a dead letter's page with its error summary")
    type_into(driver, "why", WHY)
    focused(driver).send_keys(Keys.ENTER)
    WebDriverWait(driver, 10).until(lambda d: d.find_elements(By.ID, "replay-done"))
    assert WHY in text_of(driver, "replay-state")
    assert not driver.find_elements(By.ID, "replay-form")
    assert "already replayed" in text_of(driver, "replay-refused")  # a second replay is refused, saying why
    axe.assert_accessible(driver, "a replayed dead letter's page")

    tab_to(driver, "ops-back").send_keys(Keys.ENTER)
    assert "Replayed" in text_of(driver, "dead-letters")


def test_the_operations_pages_become_pngs(clinic: Clinic, tmp_path):
    org = ADMIN.organization
    ops_demo.publish_operations(clinic.settings, org, staff_notice(org, "urgent_failed", recipient_id=uuid.uuid4().hex))
    saved = ops_demo.visit_operations(clinic.pipeline.gateway_url, tmp_path, org, ADMIN.username, ADMIN.password,
                                      shoot)
    assert [p.stem for p in saved] == ["operations", "deadletter"]
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in saved)
