"""An analyst opens the reporting dashboard with the keyboard: a message the clinic sent is counted there,
the page has no accessibility violations, and a section's CSV downloads with the signed-in session."""
from __future__ import annotations

import time

import httpx
from selenium.webdriver.common.keys import Keys

from gateway.console.users import new_account
from stack.report_demo import wait_reported
from stack.screenshots import send_message
from tests.browser import axe
from tests.browser.clinic import Clinic, Person, sign_in, tab_to, text_of
from tests.browser.conftest import Browsers

ANALYST = Person("demo-clinic", "analyst-ana")


def test_an_analyst_reads_the_reports_and_downloads_a_csv(clinic: Clinic, browser: Browsers):
    account = new_account(ANALYST.organization, ANALYST.username, "analyst", ANALYST.password)
    clinic._produce(clinic.catalog.staff_accounts, account.key, account.record(int(time.time() * 1000), "tests"))
    send_message(clinic.pipeline.gateway_url)
    driver = browser("analyst")
    deadline = time.monotonic() + 20
    while True:  # the account view reads the new account within a moment
        sign_in(driver, clinic, ANALYST)
        if "/console/inbox" in driver.current_url or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    tab_to(driver, "nav-reports").send_keys(Keys.ENTER)
    assert driver.current_url.startswith(f"{clinic.url}/reports")
    wait_reported(driver)
    assert "WHATSAPP" in text_of(driver, "report-rates") or "SMS" in text_of(driver, "report-rates")
    axe.assert_accessible(driver, "the reports page")

    link = driver.find_element("id", "csv-rates").get_attribute("href")
    cookies = {c["name"]: c["value"] for c in driver.get_cookies()}
    answer = httpx.get(str(link), cookies=cookies, timeout=30)
    assert answer.status_code == 200, answer.text[:300]
    assert answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    assert answer.text.splitlines()[0].startswith("period,organization_id,channel,provider,attempted")
