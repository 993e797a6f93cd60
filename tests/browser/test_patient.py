"""The receptionist opens a notice and reads what the patient wrote, finds the same patient by phone
number, and another clinic's receptionist can open neither."""
from __future__ import annotations

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.wait import WebDriverWait

from gateway.console.context import dom_id
from tests.browser import axe
from tests.browser.clinic import OTHER_CLINIC, RECEPTION, Clinic, live, sign_in, tab_to, text_of, type_into
from tests.browser.conftest import Browsers

PHONE = "+5215550004242"
WORDS = "No entiendo el mensaje, ¿mi cita del martes sigue en pie?"


def test_the_receptionist_reads_the_patients_words_from_the_inbox_and_by_phone_number(
        clinic: Clinic, browser: Browsers):
    driver = browser()
    sign_in(driver, clinic, RECEPTION)
    live(driver)
    notice_id = clinic.notice(RECEPTION.organization, "unclear_reply", phone=PHONE, words=WORDS)
    card = dom_id(notice_id)
    WebDriverWait(driver, 5).until(lambda d: d.find_elements(By.ID, card))
    assert WORDS not in driver.page_source, "the inbox never shows the patient's words"

    tab_to(driver, f"{card}-patient").send_keys(Keys.ENTER)
    rid = clinic.patient(RECEPTION.organization, PHONE)
    assert driver.current_url == f"{clinic.url}/patients/{rid}"
    assert text_of(driver, f"patient-{card}-words").endswith(WORDS)
    axe.assert_accessible(driver, "the patient's page")

    tab_to(driver, "nav-find").send_keys(Keys.ENTER)
    axe.assert_accessible(driver, "finding a patient")
    type_into(driver, "phone", "12")
    tab_to(driver, "find-button").send_keys(Keys.ENTER)
    assert driver.find_elements(By.ID, "error-summary") and driver.find_elements(By.ID, "phone-error")
    axe.assert_accessible(driver, "finding a patient, with an error")
    type_into(driver, "phone", PHONE)  # the refused number is not kept in the form
    tab_to(driver, "find-button").send_keys(Keys.ENTER)
    assert driver.current_url == f"{clinic.url}/patients/{rid}", "the number itself never enters a URL"
    assert text_of(driver, f"patient-{card}-words").endswith(WORDS)

    other = browser("other-clinic")
    sign_in(other, clinic, OTHER_CLINIC)
    other.get(f"{clinic.url}/patients/{rid}")
    assert WORDS not in other.page_source and not other.find_elements(By.ID, f"patient-{card}")
    axe.assert_accessible(other, "another clinic's view of the patient's page")
