"""The templates page in `make screenshots`: the demo admin adds a Portuguese template through the form and
the page is saved once the simulator's review webhook has made it approved."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.wait import WebDriverWait

from stack.browser import chromium, reload_until, sign_in

NAME = "lembrete_consulta"
FORM = (("tpl-name", NAME), ("tpl-params", "clinic, date, time"),
        ("tpl-body", "Ola! Lembramos sua consulta na {clinic} no dia {date} as {time}."),
        ("tpl-sms", "Lembrete: consulta na {clinic}, {date} as {time}."),
        ("tpl-voice", "Ola. Lembramos sua consulta na {clinic} no dia {date} as {time}."))


def wait_approved(driver: WebDriver, status_id: str, timeout_s: float = 30) -> None:
    reload_until(driver, lambda d: "Approved" in d.find_element(By.ID, status_id).text, timeout_s,
                 f"the template was not approved in {timeout_s:.0f} s")


def visit_templates(base: str, out: Path, organization: str, username: str, password: str,
                    shoot: Callable[[WebDriver, Path, str], Path]) -> list[Path]:
    """Signs in as an admin, adds the template, waits for Meta's (the simulator's) approval, saves the list."""
    driver = chromium()
    try:
        sign_in(driver, base, "/console/admin/templates", organization, username, password)
        for element_id, value in FORM:
            driver.find_element(By.ID, element_id).send_keys(value)
        driver.find_element(By.ID, "template-add").click()
        WebDriverWait(driver, 10).until(lambda d: f"/console/admin/templates/{NAME}" in d.current_url)
        wait_approved(driver, "template-preview-pt-status")
        driver.get(f"{base}/console/admin/templates")
        return [shoot(driver, out, "templates")]
    finally:
        driver.quit()
