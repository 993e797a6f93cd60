"""The analysts' API on a real embedded store: authentication, read-only SQL, limits, the report, audit."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest
from starlette.testclient import TestClient

from access.keys import KeyStore
from analytics.access import AccessPolicy
from analytics.exceptions import QueryFailed
from analytics.http import MAX_BODY_BYTES, Access, create_app
from analytics.migrations import migrate
from analytics.store import QueryLimits, Readers, Store, open_client, open_readers
from schemas.settings import ClickHouseSettings
from tests.analytics import figures
from tests.analytics.scenario import Scenario, build

ANALYST = {"Authorization": "Bearer demo-clinic-analyst-key"}
AUDITOR = {"Authorization": "Bearer demo-clinic-auditor-key"}
SENDER = {"Authorization": "Bearer demo-clinic-sender-key"}
OTHER_ANALYST = {"Authorization": "Bearer other-clinic-analyst-key"}
OPERATOR = frozenset({"demo-clinic"})  # most tests: demo-clinic is the operator, so its keys have SQL
ORGS = ("demo-clinic", "other-clinic")


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, Readers, Scenario, Path]]:
    path = tmp_path_factory.mktemp("http") / "chdb"
    ch = ClickHouseSettings(path=str(path))
    writer = open_client(ch)
    migrate(writer, ch)
    sc = build(messages=20, orgs=ORGS)
    figures.load(writer, sc)
    readers = open_readers(ch, QueryLimits(max_execution_time_s=1, max_result_rows=50))
    yield writer, readers, sc, path
    readers.close()
    writer.close()


def make_client(readers: Readers, *, sql_orgs: frozenset[str] = OPERATOR) -> tuple[TestClient, list[Access]]:
    audited: list[Access] = []
    policy = AccessPolicy(KeyStore.demo(), sql_orgs)
    app = create_app(readers, policy, lambda: {"status": "ok"}, audited.append)
    return TestClient(app), audited


def sql(client: TestClient, statement: str, headers: dict[str, str] = ANALYST, **extra: Any) -> Any:
    return client.post("/v1/sql", json={"sql": statement, **extra}, headers=headers)


def test_sql_needs_an_analyst_or_auditor_key(loaded):
    client, audited = make_client(loaded[1])
    assert sql(client, "SELECT 1", headers={}).status_code == 401
    assert sql(client, "SELECT 1", headers={}).headers["www-authenticate"].startswith("Bearer")
    assert sql(client, "SELECT 1", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert sql(client, "SELECT 1", headers=SENDER).status_code == 403
    assert sql(client, "SELECT 1", headers=AUDITOR).status_code == 200
    assert [(a.actor, a.outcome) for a in audited] == [
        ("anonymous", "denied"), ("anonymous", "denied"), ("anonymous", "denied"), ("demo-sender", "denied"),
        ("demo-auditor", "allowed")]
    assert {a.action for a in audited} == {"analytics.sql"}


def test_sql_answers_json_with_columns_and_bound_params(loaded):
    _, _, sc, _ = loaded
    client, _ = make_client(loaded[1])
    r = sql(client, "SELECT count() AS n, max(updated_at) AS last FROM message_state FINAL "
                    "WHERE organization_id = {org:String}", params={"org": "demo-clinic"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert [c["name"] for c in body["columns"]] == ["n", "last"]
    assert body["rows"][0][0] == sc.messages // 2 and body["rows"][0][1].endswith("+00:00")
    assert body["row_count"] == 1 and body["elapsed_ms"] >= 0


@pytest.mark.parametrize(("statement", "error"), [
    ("INSERT INTO events (event_id) VALUES ('x')", "query_rejected"),
    ("SELECT 1; DROP TABLE events", "query_rejected"),
    ("SELECT 1 SETTINGS readonly = 0", "query_rejected"),
    ("SELECT * FROM events INTO OUTFILE 'leak.csv'", "query_rejected"),
    ("SELECT * FROM file('/etc/hostname', 'LineAsString')", "query_failed"),
    ("SELECT number FROM numbers(1000)", "query_failed"),  # max_result_rows = 50
    ("SELECT count() FROM system.numbers", "query_failed"),  # max_execution_time = 1 s
    ("SELECT no_such_column FROM events", "query_failed"),
])
def test_sql_refuses_writes_files_and_runaway_queries(loaded, statement: str, error: str):
    client, _ = make_client(loaded[1])
    r = sql(client, statement)
    assert (r.status_code, r.json()["error"]) == (400, error), r.text
    assert not Path("leak.csv").exists()


def test_system_settings_is_a_table_not_a_settings_clause(loaded):
    client, _ = make_client(loaded[1])
    r = sql(client, "SELECT name, value FROM system.settings WHERE name = 'readonly'")
    assert r.status_code == 200, r.text
    assert r.json()["rows"] == [["readonly", "1"]]


@pytest.mark.parametrize("statement", [
    "SELECT 1 /* /* */ ' */ ; SELECT organization_id, message_id FROM message_state --'",
    "SELECT 1 # '\n; SELECT organization_id, message_id FROM message_state --'",
    "SELECT $$'$$; SELECT organization_id, message_id FROM message_state --'",
], ids=["nested-comment", "hash-comment", "dollar-string"])
def test_a_second_statement_never_runs_nor_reaches_the_next_caller(loaded, statement: str):
    _, readers, sc, _ = loaded
    client, _ = make_client(readers)
    r = sql(client, statement)
    assert (r.status_code, r.json()["error"]) == (400, "query_rejected"), r.text
    start, end = figures.window(sc)
    report = client.get("/v1/report", params={"from": start.isoformat(), "to": end.isoformat(), "org": "demo-clinic"},
                        headers=ANALYST).json()
    assert {row[0] for row in report["rows"]} == {"demo-clinic"}
    assert sql(client, "SELECT 42").json()["rows"] == [[42]]


def test_a_session_is_reopened_after_a_failed_call_so_its_leftovers_are_gone(loaded):
    session = loaded[1].sql
    resets = session.resets
    # the engine runs the first two statements, fails on the third, and keeps their rows on the handle
    with pytest.raises(QueryFailed):
        session.query("SELECT 1; SELECT 2; SELECT throwIf(1)")
    assert session.resets == resets + 1
    assert session.query("SELECT 42").rows == [(42,)]


def test_reports_and_sql_use_separate_sessions(loaded):
    readers = loaded[1]
    assert len({id(readers.report), id(readers.sql), id(readers.parser)}) == 3


def test_sql_body_is_refused_before_it_is_read_whole(loaded):
    client, _ = make_client(loaded[1])
    app = client.app
    chunk = b" " * 8192
    sent: list[int] = []
    answer: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        sent.append(len(chunk))
        return {"type": "http.request", "body": chunk, "more_body": sum(sent) < 10_000_000}

    async def send(message: dict[str, Any]) -> None:
        answer.append(message)

    scope = {"type": "http", "method": "POST", "path": "/v1/sql", "raw_path": b"/v1/sql", "query_string": b"",
             "headers": [(b"authorization", ANALYST["Authorization"].encode())], "http_version": "1.1",
             "scheme": "http", "server": ("test", 80), "client": ("127.0.0.1", 1), "root_path": ""}
    anyio.run(app, scope, receive, send)
    assert answer[0]["status"] == 413
    assert b"body_too_large" in answer[1]["body"]
    assert sum(sent) <= MAX_BODY_BYTES + len(chunk)
    declared = client.post("/v1/sql", content=b"x" * (MAX_BODY_BYTES + 1), headers=ANALYST)
    assert (declared.status_code, declared.json()["error"]) == (413, "body_too_large")


def test_sql_body_must_be_json_with_sql_and_scalar_params(loaded):
    client, _ = make_client(loaded[1])
    assert client.post("/v1/sql", content=b"SELECT 1", headers=ANALYST).status_code == 400
    assert sql(client, "SELECT {x:String}", params={"x": {"nested": 1}}).status_code == 400
    assert sql(client, "SELECT {x:String}", params={"x": [["nested"]]}).status_code == 400
    ok = sql(client, "SELECT has({x:Array(String)}, 'b')", params={"x": ["a", "b"]})
    assert ok.status_code == 200 and ok.json()["rows"] == [[1]]
    assert client.post("/v1/sql", json={"query": "SELECT 1"}, headers=ANALYST).status_code == 400


@pytest.mark.parametrize("operator", [frozenset(), frozenset({"ops"}), frozenset({"other-clinic"})],
                         ids=["none", "another-organization", "the-other-clinic"])
def test_sql_is_for_the_operators_keys_only(loaded, operator: frozenset[str]):
    client, _ = make_client(loaded[1], sql_orgs=operator)
    r = sql(client, "SELECT 1")
    assert (r.status_code, r.json()["error"]) == (403, "forbidden")
    assert sql(client, "SELECT 1", headers=OTHER_ANALYST).status_code == (200 if "other-clinic" in operator else 403)


def test_the_operator_reads_every_organization(loaded):
    _, readers, sc, _ = loaded
    start, end = figures.window(sc)
    span = {"from": start.isoformat(), "to": end.isoformat()}
    operator, _ = make_client(readers)
    body = operator.get("/v1/report", params=span, headers=ANALYST).json()
    rows = [dict(zip([c["name"] for c in body["columns"]], r, strict=True)) for r in body["rows"]]
    assert {r["organization_id"] for r in rows} == set(ORGS)
    for r in rows:
        want = sc.rates(r["organization_id"], r["channel"])
        assert (r["messages"], r["delivered"], r["read"], r["failed"], r["blocked"]) == (
            want["messages"], want["delivered"], want["read"], want["failed_final"], want["blocked"])
    only_other = operator.get("/v1/report", params=span | {"org": "other-clinic"}, headers=ANALYST).json()
    assert {r[0] for r in only_other["rows"]} == {"other-clinic"}


@pytest.mark.parametrize("operator", [frozenset(), frozenset({"ops"})], ids=["none", "another-organization"])
@pytest.mark.parametrize(("key", "own", "other"), [
    (ANALYST, "demo-clinic", "other-clinic"),
    (OTHER_ANALYST, "other-clinic", "demo-clinic"),
], ids=["demo-reads-other", "other-reads-demo"])
def test_a_tenant_analyst_reads_only_its_own_organization(loaded, operator: frozenset[str], key: dict[str, str],
                                                          own: str, other: str):
    _, readers, sc, _ = loaded
    start, end = figures.window(sc)
    span = {"from": start.isoformat(), "to": end.isoformat()}
    client, audited = make_client(readers, sql_orgs=operator)
    unscoped = client.get("/v1/report", params=span, headers=key).json()
    assert unscoped["organization_id"] == own
    assert unscoped["rows"] and {r[0] for r in unscoped["rows"]} == {own}
    assert unscoped["appointments"]["rows"] and {r[0] for r in unscoped["appointments"]["rows"]} == {own}
    asked = client.get("/v1/report", params=span | {"org": other}, headers=key)
    assert (asked.status_code, asked.json()["error"]) == (403, "forbidden")
    assert [a.outcome for a in audited] == ["allowed", "denied"]


def test_report_rejects_bad_ranges(loaded):
    client, _ = make_client(loaded[1])
    assert client.get("/v1/report", params={"from": "yesterday"}, headers=ANALYST).status_code == 400
    _, _, sc, _ = loaded
    later = (sc.start + timedelta(hours=1)).isoformat()
    r = client.get("/v1/report", params={"from": later, "to": sc.start.isoformat()}, headers=ANALYST)
    assert (r.status_code, r.json()["error"]) == (400, "query_rejected")


def test_health_is_open_and_says_ok(loaded):
    client, _ = make_client(loaded[1])
    assert client.get("/v1/health").json() == {"status": "ok"}
