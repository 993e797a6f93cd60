"""axe-core run inside the page: every page a browser test visits must have zero WCAG 2.1 A/AA violations.

axe-core is vendored from its npm tarball (vendor/README.md), so the check needs no network and always
runs the same rules; its sha256 is checked before it is injected.
"""
from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path
from typing import Any

from selenium.webdriver.remote.webdriver import WebDriver

VERSION = "4.14.1"
SCRIPT = Path(__file__).parent / "vendor" / f"axe-core-{VERSION}" / "axe.min.js"
SHA256 = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"  # = the npm release's SRI
# The success criteria of WCAG 2.0 and 2.1, levels A and AA (axe's tags); best-practice rules are
# advice, not the bar.
TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")

_RUN = """
const done = arguments[arguments.length - 1];
axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}, resultTypes: ['violations']})
  .then(r => done({violations: r.violations}), e => done({error: String(e)}));
"""


@cache
def source() -> str:
    data = SCRIPT.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != SHA256:
        raise AssertionError(f"{SCRIPT} is not axe-core {VERSION} (sha256 {digest})")
    return data.decode("utf-8")


def violations(driver: WebDriver) -> list[dict[str, Any]]:
    """axe's violations on the page as it is now (run again after a live update to check the new DOM)."""
    if not driver.execute_script("return typeof window.axe === 'object'"):
        driver.execute_script(source())
    result: dict[str, Any] = driver.execute_async_script(_RUN, list(TAGS))
    if "error" in result:
        raise AssertionError(f"axe-core failed on {driver.current_url}: {result['error']}")
    found: list[dict[str, Any]] = result["violations"]
    return found


def describe(found: list[dict[str, Any]]) -> str:
    lines = []
    for v in found:
        lines.append(f"- {v['id']} ({v.get('impact')}): {v['help']} <{v['helpUrl']}>")
        for node in v["nodes"]:
            lines.append(f"    at {' '.join(map(str, node['target']))}: {node.get('failureSummary', '')}".rstrip())
    return "\n".join(lines)


def assert_accessible(driver: WebDriver, page: str) -> None:
    """Fails listing each violation, rule by rule and element by element."""
    found = violations(driver)
    assert not found, f"axe-core: {len(found)} WCAG 2.1 AA violation(s) on {page} ({driver.current_url}):\n" + \
        describe(found)
