"""Monitoring on a running local stack (the pipeline's processes, Prometheus and Alertmanager).

Every metric a Grafana panel or an alert rule queries exists on some process's /metrics, so the
dashboards and rules cannot rot, and Prometheus scrapes every carelay process.

A provider outage pages without anyone watching: the simulator fails every Meta call, the worker's
circuit opens, the real Prometheus fires CircuitBreakerOpen (its `for:` cut to 5 s, 1 s scrapes and
evaluations), the real Alertmanager posts it to the gateway's POST /v1/ops/alerts, and the staff
notices show it, within `for` plus one evaluation interval (and the scrape, Alertmanager's group wait
and a margin for a busy machine). With the simulator restored and traffic again, the circuit closes
and the alert's resolution reaches the notices too."""
from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from stack import monitoring
from stack.pipeline import Pipeline, Ports

SENDER = {"Authorization": "Bearer demo-clinic-sender-key"}
AUDITOR = {"Authorization": "Bearer demo-clinic-auditor-key"}
ALERT = "CircuitBreakerOpen"
ROOT = Path(__file__).resolve().parents[2]
METRIC = re.compile(r"\b(carelay_[a-z0-9_]+|up)\b")
TYPE = re.compile(r"^# TYPE (\S+) (\S+)$", re.M)
FOR_S, EVALUATION_S, SCRAPE_S, GROUP_WAIT_S, MARGIN_S = 5.0, 1.0, 1.0, 1.0, 8.0

pytestmark = pytest.mark.skipif(bool(monitoring.missing_tools()),
                                reason="`make monitoring-tools` installs Debian's prometheus and alertmanager")


@pytest.fixture(scope="module")
def stack(kafka, registry, tmp_path_factory) -> Iterator[tuple[Pipeline, monitoring.Monitoring]]:
    tag = uuid.uuid4().hex[:6]
    env = {"CARELAY_KAFKA_BOOTSTRAP": kafka.bootstrap, "CARELAY_SCHEMA_REGISTRY_URL": registry.url,
           "CARELAY_TOPIC_PREFIX": f"alert{tag}.", "CARELAY_STREAMS_SESSION_TIMEOUT_S": "6",
           "CARELAY_CARE_QUIET_HOURS": "00:00-00:00",
           # opens after 3 failures; stays open 15 s before a probe, longer than `for` + evaluation
           "CARELAY_BREAKER_FAILURES": "3", "CARELAY_BREAKER_WINDOW_S": "10", "CARELAY_BREAKER_RECOVERY_S": "15",
           "CARELAY_BREAKER_HALF_OPEN_CALLS": "1"}
    tmp: Path = tmp_path_factory.mktemp("alerting")
    pipe = Pipeline(env, tmp, ports=Ports.free(), workers=1, ai_agent=False)
    mon = monitoring.attach(pipe, ports=monitoring.MonitoringPorts.free(), timing=monitoring.FAST)
    with pipe:
        yield pipe, mon


def circuit_state(pipe: Pipeline) -> float | None:
    """The worker's gauge for the demo clinic's Meta WhatsApp instance (demo-clinic-wa-meta)."""
    text = httpx.get(f"http://127.0.0.1:{pipe.ports.worker_metrics}/metrics", timeout=5).text
    found = re.search(r'^carelay_streams_circuit_state\{channel_instance="[^"]*-wa-meta"\} (\S+)$', text, re.M)
    return float(found.group(1)) if found else None


def send(pipe: Pipeline, n: int, run: int) -> None:
    with httpx.Client(base_url=pipe.gateway_url, headers=SENDER, timeout=10) as client:
        for i in range(n):
            body = {"to": f"+5255{run:02d}{i:06d}", "channels": ["WHATSAPP", "SMS"],
                    "template": {"name": "appointment_reminder", "language": "es",
                                 "params": {"patient_name": "Ana", "clinic": "Clinica Norte", "date": "1 de mayo",
                                            "time": "10:30"}}}
            r = client.post("/v1/messages", json=body, headers={"Idempotency-Key": f"alert-{run}-{i}-{uuid.uuid4()}"})
            assert r.status_code == 202, r.text


def ops_notices(pipe: Pipeline, reason: str) -> list[dict[str, Any]]:
    r = httpx.get(f"{pipe.gateway_url}/v1/staff/notifications", headers=AUDITOR, timeout=10)
    if r.status_code != 200:
        return []
    return [n for n in r.json()["notifications"] if n.get("reason") == reason
            and n.get("details", {}).get("label.alertname") == ALERT]


def alert_states(url: str, path: str, pick: Callable[[dict[str, Any]], str]) -> set[str]:
    r = httpx.get(f"{url}{path}", timeout=5)
    data = r.json()
    items = data["data"]["alerts"] if isinstance(data, dict) else data
    return {pick(a) for a in items if a["labels"].get("alertname") == ALERT}


def wait_for(what: str, check: Callable[[], Any], timeout_s: float) -> float:
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout_s:
            pytest.fail(f"{what}: not within {timeout_s:.0f} s")
        time.sleep(0.25)
    return time.monotonic() - started


def test_a_meta_outage_pages_through_prometheus_alertmanager_and_the_console(stack) -> None:
    pipe, mon = stack
    sim = pipe.simulator_url
    httpx.post(f"{sim}/_sim/scenarios", json={"outage": {"provider": "meta", "seconds": 3600, "http_status": 500,
                                                         "code": 131000}}, timeout=10).raise_for_status()
    try:
        for run in range(10):
            send(pipe, 3, run)
            if circuit_state(pipe) == 2:
                break
            time.sleep(0.5)
        wait_for("the circuit opened", lambda: circuit_state(pipe) == 2, 20)
        opened = time.monotonic()
        budget = FOR_S + EVALUATION_S + SCRAPE_S + GROUP_WAIT_S + MARGIN_S
        wait_for("Prometheus fires", lambda: "firing" in alert_states(
            mon.prometheus_url, "/api/v1/alerts", lambda a: str(a["state"])), budget)
        wait_for("Alertmanager holds it", lambda: "active" in alert_states(
            mon.alertmanager_url, "/api/v2/alerts", lambda a: str(a["status"]["state"])), 5)
        wait_for("the staff notice", lambda: ops_notices(pipe, "ops_alert"), 5)
        paged_after = time.monotonic() - opened
        assert paged_after <= budget + 5, f"paged {paged_after:.1f} s after the circuit opened"
        [notice] = ops_notices(pipe, "ops_alert")
        assert notice["details"]["label.channel_instance"].endswith("-wa-meta")
        assert notice["details"]["label.severity"] == "page"
    finally:
        httpx.delete(f"{sim}/_sim/scenarios", timeout=10)

    runs = iter(range(20, 99))

    def closed() -> bool:  # new patients each time: a patient's hourly cap would hold the probe's send
        send(pipe, 2, next(runs))
        time.sleep(0.75)
        return circuit_state(pipe) == 0

    wait_for("the circuit closed after the outage", closed, 40)
    wait_for("the resolution reaches the notices", lambda: ops_notices(pipe, "ops_alert_resolved"),
             FOR_S + EVALUATION_S + SCRAPE_S + GROUP_WAIT_S + MARGIN_S)
    assert "firing" not in alert_states(mon.prometheus_url, "/api/v1/alerts", lambda a: str(a["state"]))
    print(f"\nmeta outage paged {paged_after:.1f} s after the circuit opened")


def queries() -> dict[str, str]:
    """Where -> PromQL: every Grafana panel target, every alert and recording rule."""
    found: dict[str, str] = {}
    for path in sorted((ROOT / "monitoring" / "grafana" / "dashboards").glob("*.json")):
        for panel in json.loads(path.read_text())["panels"]:
            for target in panel.get("targets", []):
                found[f"{path.name}: {panel['title']} {target['refId']}"] = target["expr"]
    for path in sorted((ROOT / "monitoring" / "rules").glob("*.rules.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                found[f"{path.name}: {rule.get('alert') or rule.get('record')}"] = rule["expr"]
    return found


def exposed(pipe: Pipeline) -> set[str]:
    """Sample names each carelay process declares (a histogram's _bucket, _count and _sum included)."""
    names: set[str] = set()
    p = pipe.ports
    for url in (f"{pipe.gateway_url}/metrics", f"http://127.0.0.1:{p.worker_metrics}/metrics",
                f"{pipe.analytics_url}/metrics"):
        text = httpx.get(url, timeout=10).text
        for name, kind in TYPE.findall(text):
            names.add(name)
            if kind == "histogram":
                names.update(f"{name}{suffix}" for suffix in ("_bucket", "_count", "_sum"))
    return names


def test_every_metric_the_dashboards_and_rules_query_exists(stack) -> None:
    pipe, _ = stack
    have = exposed(pipe)
    missing = {where: sorted(set(METRIC.findall(expr)) - have - {"up"}) for where, expr in queries().items()}
    missing = {where: names for where, names in missing.items() if names}
    assert not missing, f"queried but exposed by no carelay process: {missing}"
    assert any(METRIC.findall(expr) for expr in queries().values())


def test_prometheus_scrapes_every_carelay_process(stack) -> None:
    _, mon = stack

    def all_up() -> bool:
        r = httpx.get(f"{mon.prometheus_url}/api/v1/query", params={"query": 'up{job=~"carelay-.*"}'}, timeout=5)
        result = r.json()["data"]["result"]
        return {s["metric"]["job"] for s in result if s["value"][1] == "1"} == {
            "carelay-gateway", "carelay-streams", "carelay-analytics"}

    wait_for("every carelay process is up in Prometheus", all_up, 15)
