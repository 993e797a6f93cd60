"""clickhouse-connect itself against a running analytics service on the embedded store (ClickHouse's HTTP
interface on the analytics port): connect, query, query_df, server-side parameters, refusals, scoping, audit."""
from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import clickhouse_connect
import pytest
import uvicorn
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import DatabaseError

from access.keys import KeyStore
from analytics.access import AccessPolicy
from analytics.chhttp import EngineFront
from analytics.http import Access, create_app
from analytics.migrations import migrate
from analytics.store import QueryLimits, open_client, open_readers
from schemas.settings import ClickHouseSettings
from tests.analytics import figures
from tests.analytics.scenario import Scenario, build

ORGS = ("demo-clinic", "other-clinic")
OPERATOR = frozenset({"demo-clinic"})  # demo-clinic's keys read every organization


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Scenario, list[Access]]]:
    path = tmp_path_factory.mktemp("chhttp") / "chdb"
    ch = ClickHouseSettings(path=str(path))
    writer = open_client(ch)
    migrate(writer, ch)
    sc = build(messages=20, orgs=ORGS)
    figures.load(writer, sc)
    # the handshake reads system.settings (~2,000 rows)
    limits = QueryLimits(max_execution_time_s=2, max_result_rows=5000)
    readers = open_readers(ch, limits)
    engine = EngineFront(str(path), limits)
    audited: list[Access] = []
    app = create_app(readers, AccessPolicy(KeyStore.demo(), OPERATOR), lambda: {"status": "ok"}, audited.append,
                     engine=engine)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield port, sc, audited
    server.should_exit = True
    thread.join(timeout=5)
    engine.close()
    readers.close()
    writer.close()


def connect(port: int, key: str, **extra: Any) -> Client:
    return clickhouse_connect.get_client(host="127.0.0.1", port=port, username="analyst", password=key, **extra)


def test_clickhouse_connect_connects_and_queries_natively(service):
    port, sc, audited = service
    client = connect(port, "demo-clinic-analyst-key")
    assert client.server_version.startswith(("2", "3"))  # the engine's own version()
    result = client.query("SELECT organization_id, uniqExact(message_id) AS n FROM events "
                          "WHERE event_type = 'request.accepted' GROUP BY organization_id ORDER BY organization_id")
    assert result.column_names == ("organization_id", "n")
    assert result.result_rows == [("demo-clinic", sc.messages // 2), ("other-clinic", sc.messages // 2)]
    assert result.summary["read_rows"]
    assert {a.action for a in audited} == {"analytics.clickhouse"}
    assert audited[-1].actor == "demo-analyst" and audited[-1].outcome == "allowed"
    client.close()


def test_server_side_parameters_and_types(service):
    port, sc, _ = service
    client = connect(port, "demo-clinic-analyst-key")
    start, end = figures.window(sc)
    result = client.query(
        "SELECT count() AS n, min(occurred_at) AS first, {tag:String} AS tag FROM events FINAL "
        "WHERE organization_id = {org:String} AND occurred_at >= {start:DateTime64(3, 'UTC')} "
        "AND occurred_at < {end:DateTime64(3, 'UTC')}",
        parameters={"org": "other-clinic", "start": start, "end": end, "tag": "it's\ta\\test"})
    n, first, tag = result.result_rows[0]
    assert n > 0 and first >= start.replace(tzinfo=None)  # UTC, naive as the client gives it
    assert tag == "it's\ta\\test"  # escaped by the client, unescaped by the engine: passed through untouched
    client.close()


def test_query_df(service):
    port, sc, _ = service
    client = connect(port, "demo-clinic-auditor-key")
    df = client.query_df("SELECT organization_id, count() AS n FROM message_state FINAL GROUP BY organization_id "
                         "ORDER BY organization_id")
    assert list(df.columns) == ["organization_id", "n"]
    assert df["n"].tolist() == [sc.messages // 2, sc.messages // 2]
    client.close()


@pytest.mark.parametrize("write", [
    "INSERT INTO events (event_id) VALUES ('x')",
    "ALTER TABLE events DELETE WHERE 1",
    "DROP TABLE events",
    "SELECT 1 SETTINGS readonly = 0",
    "SELECT * FROM events INTO OUTFILE 'leak.csv'",
], ids=["insert", "alter", "drop", "settings", "outfile"])
def test_writes_are_refused(service, write: str):
    client = connect(service[0], "demo-clinic-analyst-key")
    with pytest.raises(DatabaseError, match=r"164|READONLY|not allowed"):
        client.command(write)
    client.close()


def test_an_insert_with_data_is_refused_and_nothing_lands(service):
    client = connect(service[0], "demo-clinic-analyst-key")
    before = client.command("SELECT count() FROM audit_log")
    with pytest.raises(DatabaseError):
        client.insert("audit_log", [["x"]], column_names=["audit_id"])
    assert client.command("SELECT count() FROM audit_log") == before
    client.close()


def test_an_organizations_analyst_sees_its_own_rows_only(service):
    port, _, audited = service
    client = connect(port, "other-clinic-analyst-key")  # other-clinic is not the operator
    for table in ("events", "message_state FINAL", "outcomes_hourly", "latency_hourly", "conversation_summary"):
        orgs = client.query(f"SELECT DISTINCT organization_id FROM {table}").result_rows
        assert orgs in ([("other-clinic",)], []), table
    # a subquery, a join and a parameter naming the other organization change nothing
    n = client.command("SELECT count() FROM events WHERE organization_id = {org:String}",
                       parameters={"org": "demo-clinic"})
    assert n == 0
    n = client.command("SELECT count() FROM (SELECT message_id FROM events) AS a JOIN message_state AS b "
                       "ON a.message_id = b.message_id WHERE b.organization_id = 'demo-clinic'")
    assert n == 0
    assert audited[-1].organization_id == "other-clinic"
    client.close()


@pytest.mark.parametrize("statement", [
    "SELECT count() FROM merge('carelay', '^events$')",
    "SELECT count() FROM channel_health",
    "SELECT count() FROM system.processes",
    "SELECT count() FROM numbers(10)",
], ids=["merge-table-function", "no-organization-table", "system-table", "any-table-function"])
def test_an_organizations_analyst_cannot_go_around_the_filter(service, statement: str):
    client = connect(service[0], "other-clinic-analyst-key")
    with pytest.raises(DatabaseError, match=r"organization's key|operator's keys"):
        client.query(statement)
    client.close()


@pytest.mark.parametrize(("key", "message"), [
    ("wrong-key", "516|AUTHENTICATION_FAILED"),
    ("demo-clinic-sender-key", "497|ACCESS_DENIED"),
], ids=["unknown-key", "sender-role"])
def test_a_bad_key_cannot_connect(service, key: str, message: str):
    with pytest.raises(DatabaseError, match=message):
        connect(service[0], key)


def test_result_limits_hold(service):
    client = connect(service[0], "demo-clinic-analyst-key")
    with pytest.raises(DatabaseError, match=r"396|TOO_MANY_ROWS|Limit for result"):
        client.query("SELECT number FROM system.numbers LIMIT 10000")
    assert client.command("SELECT 42") == 42  # the session was reopened; nothing left behind
    client.close()
