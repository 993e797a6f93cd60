"""The browser harness itself: Debian's Chromium starts headless, axe-core finds what it should and the
failure names each rule and element, and a failing test leaves a screenshot."""
from __future__ import annotations

import urllib.parse

import pytest

from tests.browser import axe
from tests.browser.conftest import Browsers

BAD = """<!doctype html><html><head><title>Bad</title></head><body><main>
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" id="logo">
<form><input type="text" id="phone"></form></main></body></html>"""
GOOD = """<!doctype html><html lang="en"><head><title>Good</title></head><body><main><h1>Inbox</h1>
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" alt="carelay">
<form><label for="phone">Phone</label><input type="text" id="phone"></form></main></body></html>"""


def page(html: str) -> str:
    return "data:text/html;charset=utf-8," + urllib.parse.quote(html)


def test_axe_names_every_violation_and_passes_a_clean_page(browser: Browsers):
    driver = browser()
    driver.get(page(BAD))
    with pytest.raises(AssertionError) as failed:
        axe.assert_accessible(driver, "a page without alt, label or lang")
    message = str(failed.value)
    for rule, element in [("image-alt", "#logo"), ("label", "#phone"), ("html-has-lang", "html")]:
        assert f"- {rule} (" in message and f"at {element}:" in message, message

    driver.get(page(GOOD))
    axe.assert_accessible(driver, "a clean page")


def test_a_failing_test_leaves_a_screenshot_of_each_browser(browser: Browsers, tmp_path, monkeypatch):
    monkeypatch.setattr("tests.browser.conftest.ARTIFACTS", tmp_path)
    browser().get(page(GOOD))
    browser("colleague").get(page(GOOD))
    saved = browser.screenshots("tests/x.py::test_y[a b]")
    assert [p.name for p in saved] == ["tests_x.py_test_y_a_b_-reception.png", "tests_x.py_test_y_a_b_-colleague.png"]
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in saved)
