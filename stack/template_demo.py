"""The templates page in `make screenshots`: the demo admin adds a Portuguese template through the form and
the page is saved once the simulator's review webhook has made it approved."""
from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.wait import WebDriverWait

from stack.browser import chromium
from stack.errors import StackError

NAME = "lembrete_consulta"
FORM = (("tpl-name", NAME), ("tpl-params", "clinic, date, time"),
        ("tpl-body", "Ola! Lembramos sua consulta na {clinic} no dia {date} as {time}."),
        ("tpl-sms", "Lembrete: consulta na {clinic}, {date} as {time}."),
        ("tpl-voice", "Ola. Lembramos sua consulta na {clinic} no dia {date} as {time}."))


def wait_approved(driver: WebDriver, status_id: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while "Approved" not in driver.find_element(By.ID, status_id).text:
        if time.monotonic() > deadline:
            raise StackError(f"the template was not approved in {timeout_s:.0f} s")
        time.sleep(1)
        driver.refresh()


def visit_templates(base: str, out: Path, organization: str, username: str, password: str,
                    shoot: Callable[[WebDriver, Path, str], Path]) -> list[Path]:
    """Signs in as an admin, adds the template, waits for Meta's (the simulator's) approval, saves the list."""
    driver = chromium()
    try:
        driver.get(f"{base}/console/signin?next=/console/admin/templates")
        for element_id, value in (("organization", organization), ("username", username), ("password", password)):
            driver.find_element(By.ID, element_id).send_keys(value)
        driver.find_element(By.ID, "signin-button").click()
        WebDriverWait(driver, 10).until(lambda d: "/console/admin/templates" in d.current_url)
        for element_id, value in FORM:
            driver.find_element(By.ID, element_id).send_keys(value)
        driver.find_element(By.ID, "template-add").click()
        WebDriverWait(driver, 10).until(lambda d: f"/console/admin/templates/{NAME}" in d.current_url)
        wait_approved(driver, "template-preview-pt-status")
        driver.get(f"{base}/console/admin/templates")
        return [shoot(driver, out, "templates")]
    finally:
        driver.quit()
