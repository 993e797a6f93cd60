"""Signing in and out of the console in a real browser: wrong passwords until the account locks, the
idle log-off, and signing out, each page checked with axe-core."""
from __future__ import annotations

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from gateway.console.sessions import COOKIE, PATH, Session, Signer
from tests.browser import axe
from tests.browser.clinic import FORGETFUL, RECEPTION, Clinic, sign_in, tab_to, text_of
from tests.browser.conftest import Browsers

BAD_PASSWORDS = 6


def test_six_wrong_passwords_lock_the_account(clinic: Clinic, browser: Browsers):
    driver = browser()
    driver.get(f"{clinic.url}/signin")
    axe.assert_accessible(driver, "the sign-in page")
    locks_at = clinic.settings.console.lockout_failures
    assert locks_at <= BAD_PASSWORDS
    for attempt in range(1, BAD_PASSWORDS + 1):
        sign_in(driver, clinic, FORGETFUL, password=f"not my password {attempt}")
        kind = "locked" if attempt >= locks_at else "credentials"
        assert driver.find_elements(By.ID, f"error-password-{kind}"), (attempt, text_of(driver, "error-summary"))
    assert "locked" in text_of(driver, "error-summary")
    axe.assert_accessible(driver, "the sign-in page with its error summary")

    sign_in(driver, clinic, FORGETFUL)  # the right password no longer opens it
    assert driver.find_elements(By.ID, "error-password-locked")
    assert driver.current_url.startswith(f"{clinic.url}/signin")


def test_an_idle_session_ends_and_says_why(clinic: Clinic, browser: Browsers):
    driver = browser()
    sign_in(driver, clinic, RECEPTION)
    assert driver.current_url.startswith(f"{clinic.url}/inbox")

    # The idle time passing, without waiting for it: the session's last activity moved back by the idle
    # timeout (the cookie re-signed with the stack's key), which is all the server's clock would change.
    signer = Signer(str(clinic.settings.console.session_key).encode("utf-8"))
    s = signer.loads(driver.get_cookie(COOKIE)["value"])
    assert s is not None
    idle_ms = clinic.settings.console.idle_s * 1000
    aged = Session(s.session_id, s.organization_id, s.username, s.issued_at - idle_ms, s.seen_at - idle_ms - 1000)
    driver.add_cookie({"name": COOKIE, "value": signer.dumps(aged), "path": PATH, "httpOnly": True,
                       "sameSite": "Strict"})

    tab_to(driver, "nav-inbox").send_keys(Keys.ENTER)
    assert driver.current_url.startswith(f"{clinic.url}/signin"), driver.current_url
    assert driver.find_elements(By.ID, "notice-ended")
    assert f"{clinic.settings.console.idle_s // 60} minutes" in text_of(driver, "notice-ended")
    axe.assert_accessible(driver, "the sign-in page after an idle log-off")


def test_signing_out_by_keyboard(clinic: Clinic, browser: Browsers):
    driver = browser()
    sign_in(driver, clinic, RECEPTION)
    tab_to(driver, "signout").send_keys(Keys.ENTER)
    assert driver.find_elements(By.ID, "notice-signed-out")
    axe.assert_accessible(driver, "the signed-out page")
    driver.get(f"{clinic.url}/inbox")
    assert driver.current_url.startswith(f"{clinic.url}/signin"), "the session is over"
