"""The reporting dashboard in `make screenshots` and the browser tests: signs in and waits until the
analytics service has the demo's messages (the sink flushes every CARELAY_ANALYTICS_BATCH_INTERVAL_S)."""
from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.wait import WebDriverWait

from stack.browser import chromium
from stack.errors import StackError

RATES_ROWS = (By.CSS_SELECTOR, "#table-rates tbody tr")


def wait_reported(driver: WebDriver, timeout_s: float = 60) -> None:
    """The reports page, reloaded until its rates table has a row (the analytics sink has flushed)."""
    deadline = time.monotonic() + timeout_s
    while not driver.find_elements(*RATES_ROWS):
        if time.monotonic() > deadline:
            raise StackError(f"the demo messages did not reach the reports page in {timeout_s:.0f} s")
        time.sleep(1)
        driver.refresh()


def visit_reports(base: str, out: Path, organization: str, username: str, password: str,
                  shoot: Callable[[WebDriver, Path, str], Path]) -> list[Path]:
    """Signs in as someone who may read reports and saves (`shoot`) the reporting dashboard."""
    driver = chromium()
    try:
        driver.get(f"{base}/console/signin?next=/console/reports")
        for element_id, value in (("organization", organization), ("username", username), ("password", password)):
            driver.find_element(By.ID, element_id).send_keys(value)
        driver.find_element(By.ID, "signin-button").click()
        WebDriverWait(driver, 10).until(lambda d: "/console/reports" in d.current_url)
        wait_reported(driver)
        return [shoot(driver, out, "reports")]
    finally:
        driver.quit()
