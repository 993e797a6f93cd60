"""Browser tests: one real stack for all of them (simulator, a stream worker and the gateway as separate
processes on the real broker and registry, as `make run` starts them) and a headless Chromium per person.

Every test here is marked `browser` (`pytest -m "not browser"` leaves them out). A failing test leaves
a PNG of each of its browsers in CARELAY_BROWSER_ARTIFACTS (default var/browser-failures), named in
the failure report.
"""
from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.webdriver.remote.webdriver import WebDriver

from stack.browser import chromium
from stack.pipeline import ROOT, Pipeline, Ports
from tests.browser.clinic import Clinic

ARTIFACTS = Path(os.environ.get("CARELAY_BROWSER_ARTIFACTS") or ROOT / "var" / "browser-failures")
HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(item.path).parents:
            item.add_marker(pytest.mark.browser)


class Browsers:
    """The browsers one test opened, by the name of the person using each."""

    def __init__(self) -> None:
        self.open: dict[str, WebDriver] = {}

    def __call__(self, person: str = "reception", *, language: str = "en") -> WebDriver:
        assert person not in self.open, f"{person} already has a browser"
        self.open[person] = chromium(language=language)
        return self.open[person]

    def screenshots(self, test: str) -> list[Path]:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        saved = []
        for person, driver in self.open.items():
            path = ARTIFACTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', test)}-{person}.png"
            try:
                driver.save_screenshot(str(path))
            except Exception:  # a crashed browser has no picture to give; the failure says why
                continue
            saved.append(path)
        return saved

    def quit(self) -> None:
        for driver in self.open.values():
            driver.quit()
        self.open.clear()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    browsers = getattr(item, "funcargs", {}).get("browser")
    if report.failed and isinstance(browsers, Browsers) and call.when in ("setup", "call"):
        saved = browsers.screenshots(item.nodeid.rsplit("/", 1)[-1])
        report.sections.append(("browser screenshots", "\n".join(str(p) for p in saved) or "none"))
    return report


@pytest.fixture
def browser() -> Iterator[Browsers]:
    """`browser()` opens the receptionist's Chromium, `browser("colleague")` a second person's."""
    opened = Browsers()
    try:
        yield opened
    finally:
        opened.quit()


@pytest.fixture(scope="session")
def clinic(kafka, registry, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clinic]:
    """The processes the console's pages need, started once for every browser test, with the clinic's
    console accounts (tests.browser.clinic.PEOPLE) written before the gateway starts."""
    tmp: Path = tmp_path_factory.mktemp("console")
    env = {
        "CARELAY_KAFKA_BOOTSTRAP": kafka.bootstrap,
        "CARELAY_SCHEMA_REGISTRY_URL": registry.url,
        "CARELAY_TOPIC_PREFIX": f"ui{uuid.uuid4().hex[:6]}.",
        "CARELAY_STREAMS_SESSION_TIMEOUT_S": "10",
        "CARELAY_ANALYTICS_BATCH_INTERVAL_S": "1",  # the reports page's figures within a second
    }
    pipe = Pipeline(env, tmp, ports=Ports.free(), workers=1, analytics=True, ai_agent=False)
    people = Clinic.of(pipe)
    try:
        people.add_accounts()
        with pipe:
            yield people
    finally:
        people.registry.close()
