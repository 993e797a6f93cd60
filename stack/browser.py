"""Headless Chromium for the console's browser tests and `make screenshots`: Debian's `chromium` and
`chromium-driver` (installed by `make browser`), driven by selenium.

The paths are fixed rather than discovered so selenium never falls back to downloading a browser or
a driver of its own (Selenium Manager): the pages are tested in the Chromium the machine has.
"""
from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.wait import WebDriverWait

from stack.errors import StackError

CHROMIUM = os.environ.get("CARELAY_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CARELAY_CHROMEDRIVER", "/usr/bin/chromedriver")
# --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start; --disable-dev-shm-usage:
# containers give /dev/shm 64 MB, which a page with live updates can outgrow.
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-dev-shm-usage", "--disable-extensions", "--no-first-run", "--hide-scrollbars")
WINDOW = (1280, 900)
# Run before any page script: records whether htmx's live-update stream (the SSE extension) is open, so
# a test or a screenshot waits for it instead of sleeping.
WATCH_LIVE = """
window.__carelaySseOpen = false;
document.addEventListener('htmx:sseOpen', () => { window.__carelaySseOpen = true; }, true);
document.addEventListener('htmx:sseError', () => { window.__carelaySseOpen = false; }, true);
"""


def chromium(*, language: str = "en", window: tuple[int, int] = WINDOW) -> webdriver.Chrome:
    """A new headless Chromium (one per person in a test); the caller quits it."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists()]
    if missing:
        raise StackError(f"{', '.join(missing)} not found: `make browser` installs Debian's chromium and "
                         "chromium-driver (or set CARELAY_CHROMIUM / CARELAY_CHROMEDRIVER)")
    options = Options()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--window-size={window[0]},{window[1]}")
    options.add_argument(f"--lang={language}")
    options.add_experimental_option("prefs", {"intl.accept_languages": language})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER, log_output=subprocess.DEVNULL))
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": WATCH_LIVE})
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(30)
    return driver


def sign_in(driver: WebDriver, base: str, next_path: str, organization: str, username: str, password: str) -> None:
    """Signs in through the console's own form and waits for the page it was asked for."""
    driver.get(f"{base}/console/signin?next={next_path}")
    for element_id, value in (("organization", organization), ("username", username), ("password", password)):
        driver.find_element(By.ID, element_id).send_keys(value)
    driver.find_element(By.ID, "signin-button").click()
    WebDriverWait(driver, 10).until(lambda d: next_path in d.current_url)


def reload_until(driver: WebDriver, ready: Callable[[WebDriver], bool], timeout_s: float, failure: str,
                 every_s: float = 1.0) -> None:
    """The page, reloaded every `every_s` until `ready` says so; StackError(`failure`) after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not ready(driver):
        if time.monotonic() > deadline:
            raise StackError(failure)
        time.sleep(every_s)
        driver.refresh()
