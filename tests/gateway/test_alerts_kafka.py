"""POST /v1/ops/alerts on the real broker: an ops key's Alertmanager body becomes staff notices that
GET /v1/staff/notifications (and so the console's inbox) shows; other roles are refused."""
from __future__ import annotations

import time

import pytest
from starlette.testclient import TestClient

from gateway.app import create_app
from gateway.services import Services
from schemas.settings import Settings
from tests.gateway.console.support import sign_in, wait_console, wait_for, write_accounts
from tests.gateway.helpers import ADMIN, AUDITOR, SENDER, wait_ready

OPS = {"Authorization": "Bearer demo-clinic-ops-key"}


def body(status: str = "firing") -> dict[str, object]:
    return {"version": "4", "status": status, "receiver": "carelay-console", "alerts": [{
        "status": status, "fingerprint": "a1b2c3d4e5f60718", "startsAt": "2026-12-07T23:20:01.5Z",
        "endsAt": "2026-12-07T23:30:00Z" if status == "resolved" else "0001-01-01T00:00:00Z",
        "labels": {"alertname": "CircuitBreakerOpen", "severity": "page", "channel_instance": "demo-clinic-wa-meta"},
        "annotations": {"summary": "The circuit to demo-clinic-wa-meta has been open for 5 minutes"}}]}


def notices(client: TestClient, want: int) -> list[dict[str, object]]:
    deadline = time.monotonic() + 15
    while True:
        r = client.get("/v1/staff/notifications", headers=AUDITOR)
        found = [n for n in r.json().get("notifications", []) if str(n.get("reason", "")).startswith("ops_alert")] \
            if r.status_code == 200 else []
        if len(found) >= want or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def test_an_alert_and_its_resolution_reach_the_staff_notices(client: TestClient, services: Services) -> None:
    r = client.post("/v1/ops/alerts", json=body(), headers=OPS)
    assert r.status_code == 202, r.text
    assert client.post("/v1/ops/alerts", json=body(), headers=OPS).status_code == 202  # a repeat collapses
    assert client.post("/v1/ops/alerts", json=body("resolved"), headers=OPS).status_code == 202
    found = notices(client, 2)
    assert sorted(str(n["reason"]) for n in found) == ["ops_alert", "ops_alert_resolved"], found
    firing = next(n for n in found if n["reason"] == "ops_alert")
    assert firing["recipient_id"] == "operations"
    assert "alert_notices_total" in client.get("/metrics").text


@pytest.mark.parametrize(("headers", "status"), [(SENDER, 403), (ADMIN, 403), (AUDITOR, 403), ({}, 401)],
                         ids=["sender", "admin", "auditor", "no_key"])
def test_only_an_ops_key_may_post_alerts(client: TestClient, headers: dict[str, str], status: int) -> None:
    assert client.post("/v1/ops/alerts", json=body(), headers=headers).status_code == status


def test_a_body_that_is_not_alertmanagers_is_a_422_naming_the_field(client: TestClient) -> None:
    r = client.post("/v1/ops/alerts", json={"alerts": [{"status": "firing"}]}, headers=OPS)
    assert r.status_code == 422 and r.json()["error"]["field"] == "alerts[0].labels", r.text


def test_the_console_inbox_shows_the_alert_to_staff(settings: Settings) -> None:
    write_accounts(settings)
    with TestClient(create_app(settings)) as client:
        wait_ready(client)
        wait_console(client.app)
        assert client.post("/v1/ops/alerts", json=body(), headers=OPS).status_code == 202
        assert sign_in(client, "demo-clinic", "alice").status_code == 303
        page = wait_for(lambda: (p := client.get("/console/inbox")).status_code == 200
                        and "CircuitBreakerOpen" in p.text and p, "the alert in alice's inbox")
        assert "Operations alert" in page.text and "has been open for 5 minutes" in page.text
        assert "/console/patients/operations" not in page.text  # not a patient: no patient page to open
