"""The alert rules (monitoring/rules/) pass `promtool check rules`, every alert has a `promtool test rules`
unit test with its series (monitoring/tests/), and those tests pass. promtool ships with Debian's
prometheus package (`make monitoring-tools`)."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
RULES = sorted((ROOT / "monitoring" / "rules").glob("*.rules.yml"))
UNIT_TESTS = sorted((ROOT / "monitoring" / "tests").glob("*.test.yml"))


def promtool() -> str:
    found = shutil.which("promtool")
    assert found, "promtool is missing: `make monitoring-tools` (Debian: apt-get install prometheus)"
    return found


def alerts() -> dict[str, dict[str, object]]:
    found: dict[str, dict[str, object]] = {}
    for path in RULES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    found[rule["alert"]] = rule
    return found


def alerts_fired_by_unit_tests() -> set[str]:
    names: set[str] = set()
    for path in UNIT_TESTS:
        for case in yaml.safe_load(path.read_text())["tests"]:
            names.update(t["alertname"] for t in case.get("alert_rule_test", []) if t.get("exp_alerts"))
    return names


def test_the_rule_files_are_valid() -> None:
    run = subprocess.run([promtool(), "check", "rules", *map(str, RULES)], capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.mark.parametrize("path", UNIT_TESTS, ids=[p.stem for p in UNIT_TESTS])
def test_promtool_unit_tests_pass(path: Path) -> None:
    run = subprocess.run([promtool(), "test", "rules", path.name], cwd=path.parent, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr


def test_every_alert_has_a_unit_test_that_fires_it() -> None:
    missing = set(alerts()) - alerts_fired_by_unit_tests()
    assert not missing, f"alerts without a promtool test that expects them to fire: {sorted(missing)}"


@pytest.mark.parametrize("name", sorted(alerts()))
def test_every_alert_has_a_severity_a_runbook_and_a_summary(name: str) -> None:
    rule = alerts()[name]
    labels, annotations = rule.get("labels") or {}, rule.get("annotations") or {}
    assert isinstance(labels, dict) and isinstance(annotations, dict)
    assert labels.get("severity") in {"page", "ticket", "breach"}
    assert labels.get("runbook") and annotations.get("summary")


@pytest.mark.parametrize("name", sorted(alerts()))
def test_every_alert_has_a_runbook_row(name: str) -> None:
    doc = (ROOT / "docs" / "monitoring.md").read_text()
    rows = [line for line in doc.splitlines() if line.startswith("| <a id=") and f"`{name}`" in line.split(" | ")[0]]
    runbook = (alerts()[name].get("labels") or {}).get("runbook")  # type: ignore[union-attr]
    assert rows and f'<a id="{runbook}"></a>' in rows[0], f"docs/monitoring.md has no runbook row for {name}"
    assert len(rows[0].split(" | ")) >= 5  # what it means, what to check first, what to do
