"""The reporting dashboard on the real broker, against a running analytics service on an embedded store:
who sees it, which organization's figures, the numbers the analytics service computed, CSV, no PHI."""
from __future__ import annotations

import re
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.testclient import TestClient

from access.keys import KeyStore
from analytics.access import AccessPolicy
from analytics.http import create_app as analytics_app
from analytics.migrations import migrate
from analytics.store import QueryLimits, open_client, open_readers
from gateway.app import create_app
from gateway.console import reports
from gateway.console.users import AccountWriter, new_account
from schemas.settings import ClickHouseSettings, Settings
from tests.analytics import figures
from tests.analytics.scenario import Scenario, build
from tests.gateway.console.support import PASSWORD, sign_in, wait_console, wait_for, write_accounts
from tests.gateway.helpers import wait_ready

OPERATOR_KEY = "demo-clinic-analyst-key"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def analytics(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Scenario]]:
    ch = ClickHouseSettings(path=str(tmp_path_factory.mktemp("reports") / "chdb"))
    writer = open_client(ch)
    migrate(writer, ch)
    sc = build(messages=40, orgs=("demo-clinic", "other-clinic"))
    figures.load(writer, sc)
    readers = open_readers(ch, QueryLimits(10, 5000))
    app = analytics_app(readers, AccessPolicy(KeyStore.demo(), frozenset({"demo-clinic"})), lambda: {"status": "ok"})
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started, "the analytics service")
    yield f"http://127.0.0.1:{port}", sc
    server.should_exit = True
    thread.join(timeout=5)
    readers.close()
    writer.close()


@pytest.fixture(scope="module")
def gateway(kafka, registry, analytics, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = Settings.from_env({
        "CARELAY_KAFKA_BOOTSTRAP": kafka.bootstrap, "CARELAY_SCHEMA_REGISTRY_URL": registry.url,
        "CARELAY_TOPIC_PREFIX": f"r{uuid.uuid4().hex[:8]}.", "CARELAY_DEMO_API_KEYS": "true",
        "CARELAY_DATA_DIR": str(tmp_path_factory.mktemp("reports-var")),
        "CARELAY_ANALYTICS_URL": analytics[0], "CARELAY_ANALYTICS_API_KEY": OPERATOR_KEY,
        "CARELAY_ANALYTICS_SQL_ORGS": "demo-clinic",
    })
    write_accounts(settings)
    with AccountWriter(settings) as accounts:
        accounts.put(new_account("other-clinic", "oscar", "analyst", PASSWORD), "test")
    with TestClient(create_app(settings)) as c:
        wait_ready(c)
        wait_console(c.app)
        wait_for(lambda: c.app.state.console.accounts.get("other-clinic", "oscar"), "the second clinic's analyst")
        yield c


def signed_in(gateway: TestClient, org: str, user: str) -> TestClient:
    gateway.cookies.clear()
    assert sign_in(gateway, org, user).status_code == 303
    return gateway


def table_rows(html: str, section: str) -> list[list[str]]:
    body = html.split(f'id="table-{section}"', 1)[1].split("</table>", 1)[0]
    return [re.findall(r"<td[^>]*>([^<]*)</td>", row) for row in body.split("<tr")[2:]]


def dashboard(base: str, **params: str) -> dict[str, Any]:
    r = httpx.get(f"{base}/v1/dashboard", params=params, headers={"Authorization": f"Bearer {OPERATOR_KEY}"})
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_an_analyst_sees_every_section_with_the_services_numbers(gateway, analytics):
    client = signed_in(gateway, "demo-clinic", "carol")
    started = time.perf_counter()
    page = client.get("/console/reports", params={"tz": "UTC"})
    took = time.perf_counter() - started
    assert page.status_code == 200, page.text
    for section in reports.SECTIONS:
        assert f'id="report-{section}"' in page.text and f'id="csv-{section}"' in page.text
    assert page.text.count('role="img"') >= 9
    choice = reports.Choice(*_week(page.text), org="", tz="UTC")
    start, end = choice.range_utc()
    expected = dashboard(analytics[0], **{"from": start.isoformat(), "to": end.isoformat(), "tz": "UTC"})
    for section in ("blocked", "staff", "fallback", "opt_outs"):
        assert table_rows(page.text, section) == [list(r) for r in reports.table_of(
            expected["sections"][section]).rows], section
    assert {r[1] for r in table_rows(page.text, "rates")} == {"demo-clinic", "other-clinic"}  # the operator: all
    assert not any(phi in page.text for phi in analytics[1].clear_phi)
    assert took < 5


def _week(html: str) -> tuple[date, date]:
    first = re.search(r'id="from" name="from" type="text"\s+value="([^"]+)"', html)
    last = re.search(r'id="to" name="to" type="text"\s+value="([^"]+)"', html)
    assert first and last
    return date.fromisoformat(first.group(1)), date.fromisoformat(last.group(1))


def test_a_clinics_analyst_sees_its_own_organization_only(gateway):
    client = signed_in(gateway, "other-clinic", "oscar")
    page = client.get("/console/reports", params={"org": "demo-clinic"})  # not the operator: ignored
    assert page.status_code == 200, page.text
    assert {r[1] for r in table_rows(page.text, "rates")} == {"other-clinic"}
    assert 'id="org"' not in page.text


def test_csv_download_is_the_sections_table(gateway, analytics):
    client = signed_in(gateway, "demo-clinic", "carol")
    first, last = date.today() - timedelta(days=30), date.today() + timedelta(days=1)
    query = {"from": first.isoformat(), "to": last.isoformat(), "tz": "UTC"}
    answer = client.get("/console/reports/blocked.csv", params=query)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    assert f'filename="carelay-blocked-{first}-{last}.csv"' in answer.headers["content-disposition"]
    choice = reports.Choice(first, last, "", "UTC")
    start, end = choice.range_utc()
    expected = dashboard(analytics[0], **{"from": start.isoformat(), "to": end.isoformat(), "tz": "UTC"})
    assert answer.text == reports.csv_text(expected["sections"]["blocked"])
    assert answer.text.splitlines()[0] == "organization_id,reason,messages"
    assert client.get("/console/reports/nothing.csv").status_code == 404


@pytest.mark.parametrize(("query", "field"), [
    ({"from": "2026-13-01"}, "from"),
    ({"from": "2026-03-05", "to": "2026-03-01"}, "to"),
    ({"tz": "Mars/Olympus"}, "tz"),
], ids=["bad-date", "last-before-first", "unknown-zone"])
def test_a_bad_form_names_the_field(gateway, query: dict[str, str], field: str):
    client = signed_in(gateway, "demo-clinic", "carol")
    page = client.get("/console/reports", params=query)
    assert page.status_code == 400
    assert f'href="#{field}"' in page.text and f'id="{field}-error"' in page.text


def test_staff_cannot_see_reports(gateway):
    client = signed_in(gateway, "demo-clinic", "alice")
    assert client.get("/console/reports").status_code == 403
    assert 'id="nav-reports"' not in client.get("/console/inbox").text
