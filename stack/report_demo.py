"""The reporting dashboard in `make screenshots` and the browser tests: signs in and waits until the
analytics service has the demo's messages (the sink flushes every CARELAY_ANALYTICS_BATCH_INTERVAL_S)."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from stack.browser import chromium, reload_until, sign_in

RATES_ROWS = (By.CSS_SELECTOR, "#table-rates tbody tr")


def wait_reported(driver: WebDriver, timeout_s: float = 60) -> None:
    """The reports page, reloaded until its rates table has a row (the analytics sink has flushed)."""
    reload_until(driver, lambda d: bool(d.find_elements(*RATES_ROWS)), timeout_s,
                 f"the demo messages did not reach the reports page in {timeout_s:.0f} s")


def visit_reports(base: str, out: Path, organization: str, username: str, password: str,
                  shoot: Callable[[WebDriver, Path, str], Path]) -> list[Path]:
    """Signs in as someone who may read reports and saves (`shoot`) the reporting dashboard."""
    driver = chromium()
    try:
        sign_in(driver, base, "/console/reports", organization, username, password)
        wait_reported(driver)
        return [shoot(driver, out, "reports")]
    finally:
        driver.quit()
