"""The page's own idle log-off: on a gateway whose console sessions end after 12 idle seconds, the page
warns before the end, "Stay signed in" (by keyboard) starts the time again, and left alone the page goes
to the sign-in page by itself, saying why; each state checked with axe-core."""
from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.wait import WebDriverWait

from gateway.console.sessions import warn_before_ms
from stack.javaproc import ChildProcess, free_port
from stack.pipeline import ROOT
from tests.browser import axe
from tests.browser.clinic import RECEPTION, Clinic, focused, tab_to, type_into
from tests.browser.conftest import Browsers

IDLE_S = 12  # CARELAY_CONSOLE_IDLE_S of this test's own gateway


@pytest.fixture(scope="module")
def brief(clinic: Clinic, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A second gateway process on the clinic's topics whose console sessions end after IDLE_S idle seconds."""
    spec = next(s for s in clinic.pipeline.specs if s.name == "gateway")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [str(port) if a == str(clinic.pipeline.ports.gateway) else a for a in spec.argv]
    env = {**spec.env, "CARELAY_CONSOLE_IDLE_S": str(IDLE_S), "CARELAY_GATEWAY_PORT": str(port),
           "CARELAY_PUBLIC_URL": url, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path_factory.mktemp("brief-metrics"))}
    proc = ChildProcess("gateway-brief", argv, cwd=ROOT, log_path=Path(clinic.pipeline.log_dir) / "gateway-brief.log",
                        env=env)
    proc.start()
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.running and time.monotonic() < deadline, "the brief gateway did not become ready"
            time.sleep(0.3)
        yield url
    finally:
        proc.stop(timeout=15)


def warning_shown(driver) -> bool:  # type: ignore[no-untyped-def]
    return bool(driver.find_element(By.ID, "idle-warning").is_displayed())


def test_the_page_warns_then_signs_out_by_itself(clinic: Clinic, brief: str, browser: Browsers):
    warn_s = warn_before_ms(IDLE_S * 1000) / 1000
    driver = browser()
    driver.get(f"{brief}/console/signin")  # this gateway's own sign-in page, by keyboard
    for element_id, value in (("organization", RECEPTION.organization), ("username", RECEPTION.username),
                              ("password", RECEPTION.password)):
        type_into(driver, element_id, value)
    focused(driver).send_keys(Keys.ENTER)
    assert "/console/inbox" in driver.current_url
    assert not warning_shown(driver)

    WebDriverWait(driver, IDLE_S).until(warning_shown)  # a little before the end, the warning
    axe.assert_accessible(driver, "the inbox with the idle warning")
    tab_to(driver, "idle-stay").send_keys(Keys.ENTER)  # "Stay signed in", by keyboard
    stayed_at = time.monotonic()
    WebDriverWait(driver, 5).until(lambda d: not warning_shown(d))

    # left alone again: the warning, then the sign-in page, counted from "Stay signed in"
    WebDriverWait(driver, IDLE_S).until(warning_shown)
    assert time.monotonic() - stayed_at >= IDLE_S - warn_s - 1
    WebDriverWait(driver, IDLE_S).until(lambda d: "/console/signin" in d.current_url)
    assert time.monotonic() - stayed_at >= IDLE_S - 1, "not before the session's end"
    assert "ended=idle" in driver.current_url and driver.find_elements(By.ID, "notice-ended")
    axe.assert_accessible(driver, "the sign-in page after the page signed itself out")
    driver.get(f"{brief}/console/inbox")
    assert "/console/signin" in driver.current_url, "the session is over on the server too"
