"""The store and schema on the real embedded engine (and on a server when CARELAY_TEST_CLICKHOUSE_URL is set).

The contract tests run over every configured backend; without a server only the embedded one is
listed (no skipped tests): there is no ClickHouse server package on these machines.
"""
from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from analytics import migrations, tables
from analytics.exceptions import QueryFailed, StoreInUse, StoreUnavailable
from analytics.migrations import MIGRATIONS, TTL_RULES, apply_ttls, migrate
from analytics.store import QueryLimits, Store, open_client, parse_url
from schemas.errors import ConfigError
from schemas.settings import ClickHouseSettings
from stack.javaproc import free_port
from tests.analytics import figures
from tests.analytics.scenario import build

SERVER_URL = os.environ.get("CARELAY_TEST_CLICKHOUSE_URL", "").strip().rstrip("/")
BACKENDS = ["chdb", *(["server"] if SERVER_URL else [])]


@pytest.fixture(params=BACKENDS)
def ch(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ClickHouseSettings]:
    if request.param == "chdb":
        yield ClickHouseSettings(path=str(tmp_path / "chdb"))
        return
    database = f"t{uuid.uuid4().hex[:10]}"
    yield ClickHouseSettings(url=f"{SERVER_URL}/{database}")
    admin = open_client(ClickHouseSettings(url=SERVER_URL))
    admin.command(f"DROP DATABASE IF EXISTS {database}")
    admin.close()


@pytest.fixture
def store(ch: ClickHouseSettings) -> Iterator[Store]:
    s = open_client(ch)
    migrate(s, ch)
    yield s
    s.close()


def show_create(store: Store, table: str) -> str:
    return str(store.command(f"SHOW CREATE TABLE {table}"))


def all_tables(store: Store) -> list[str]:
    return [r[0] for r in store.query("SELECT name FROM system.tables WHERE database = currentDatabase() "
                                      "ORDER BY name").rows]


def test_migrations_are_idempotent(ch: ClickHouseSettings):
    s = open_client(ch)
    try:
        assert migrate(s, ch) == [m.version for m in MIGRATIONS]
        before = {t: show_create(s, t) for t in all_tables(s)}
        assert migrate(s, ch) == []
        assert migrate(s, ch) == []
        assert {t: show_create(s, t) for t in all_tables(s)} == before
        ledger = s.query("SELECT version, count() FROM schema_migrations GROUP BY version ORDER BY version").rows
        assert ledger == [(m.version, 1) for m in MIGRATIONS]
        # a crash after the statements but before the ledger row: re-running is harmless
        s.command("TRUNCATE TABLE schema_migrations")
        assert migrate(s, ch) == [m.version for m in MIGRATIONS]
        assert {t: show_create(s, t) for t in all_tables(s)} == before
    finally:
        s.close()


def test_the_sinks_columns_exist_in_order(store: Store):
    for table, columns in tables.COLUMNS.items():
        declared = [r[0] for r in store.query(
            "SELECT name FROM system.columns WHERE database = currentDatabase() AND table = {t:String} "
            "ORDER BY position", {"t": table}).rows]
        assert [c for c in declared if c in columns] == list(columns), table


def test_ttl_clauses_follow_settings_and_audit_is_kept_longest(store: Store, ch: ClickHouseSettings):
    for table, rule in TTL_RULES.items():
        ddl = show_create(store, table)
        assert f"TTL {rule.expression} + toIntervalDay({rule.days(ch)})" in ddl, table
    assert ch.audit_ttl_days > max(ch.event_ttl_days, ch.state_ttl_days)
    shorter = dataclasses.replace(ch, event_ttl_days=30, state_ttl_days=0)
    changed = apply_ttls(store, shorter)
    assert set(changed) == {t for t, r in TTL_RULES.items() if r.days is not migrations._audit_days}
    assert "toIntervalDay(30)" in show_create(store, "events")
    assert "TTL" not in show_create(store, "message_state")  # 0 days: keep forever
    assert apply_ttls(store, shorter) == []


def test_no_column_is_named_for_clear_phi(store: Store):
    names = {r[0] for r in store.query(  # schema_migrations.name is a migration's title
        "SELECT name FROM system.columns WHERE database = currentDatabase() AND table != 'schema_migrations'").rows}
    for word in ("phone", "number", "body", "text", "sender", "name", "patient", "params", "payload"):
        assert not [n for n in names if word in n and n not in {"provider_message_id"}], word
    assert "recipient_id" in names and "recipient" not in names


def test_scenario_figures_match(store: Store):
    sc = build()
    figures.load(store, sc)
    figures.check_figures(store, sc)


@pytest.fixture
def no_merges(store: Store) -> Iterator[Store]:
    """Background merges collapse duplicates whenever they like; stop them to see raw counts."""
    store.command("SYSTEM STOP MERGES")
    yield store
    store.command("SYSTEM START MERGES")


def test_replayed_records_collapse_and_rollups_do_not_double_count(no_merges: Store):
    store = no_merges
    sc = build()
    figures.load(store, sc, topic="first")
    raw = store.query("SELECT count() FROM events").rows[0][0]
    figures.load(store, sc, topic="replay")  # other offsets: ClickHouse cannot tell it is a replay
    assert store.query("SELECT count() FROM events").rows[0][0] == 2 * raw
    assert store.query("SELECT count() FROM events FINAL").rows[0][0] == raw
    figures.check_rates(store, sc)  # uniqExact states: exact
    figures.check_paths(store, sc)
    figures.check_consent_cost_appointments(store, sc)
    figures.check_tables(store, sc)


def test_a_retried_batch_with_the_same_token_is_dropped_everywhere(no_merges: Store):
    store = no_merges
    sc = build(messages=10)
    figures.load(store, sc)
    counts = {t: store.query(f"SELECT count() FROM {t}").rows[0][0]
              for t in ("events", "audit_log", "latency_hourly", "outcomes_hourly", "conversations")}
    figures.load(store, sc)  # same offsets → same tokens: ClickHouse drops the blocks, also in the views
    assert {t: store.query(f"SELECT count() FROM {t}").rows[0][0] for t in counts} == counts
    figures.check_latency(store, sc)  # even the quantile states saw each sample once


def test_the_readonly_handle_reads_but_cannot_write_or_lift_its_limits(store: Store, ch: ClickHouseSettings):
    reader = open_client(ch, limits=QueryLimits(max_execution_time_s=2, max_result_rows=10))
    try:
        assert reader.query("SELECT count() FROM events").rows == [(0,)]
        with pytest.raises(QueryFailed, match="readonly"):
            reader.query("INSERT INTO events (event_id) VALUES ('x')")
        with pytest.raises(QueryFailed):
            reader.query("SELECT 1 SETTINGS readonly = 0")
        with pytest.raises(QueryFailed):
            reader.query("SELECT 1 SETTINGS max_result_rows = 1000000")
        with pytest.raises(QueryFailed):
            reader.query("SELECT * FROM file('/etc/hostname', 'LineAsString')")
        with pytest.raises(QueryFailed, match=r"TOO_MANY_ROWS|Limit for result"):
            reader.query("SELECT number FROM numbers(100)")
        with pytest.raises((QueryFailed, StoreUnavailable), match=r"TIMEOUT|Timeout"):
            reader.query("SELECT count() FROM system.numbers")
        assert reader.query("SELECT count() FROM events").rows == [(0,)]
    finally:
        reader.close()
    # the writer is unaffected (a current timestamp: rows already past their TTL are dropped on insert)
    store.insert("events", [("e1", "x", datetime.now(UTC))], ("event_id", "event_type", "occurred_at"))
    assert store.query("SELECT count() FROM events").rows == [(1,)]


def test_a_second_process_cannot_open_the_embedded_store(tmp_path: Path):
    path = tmp_path / "owned"
    with subprocess.Popen(
        [sys.executable, "-c", "import sys, clickhouse_connect\n"
         f"c = clickhouse_connect.get_client(interface='chdb', path={str(path)!r})\n"
         "print('open', flush=True)\nsys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    ) as holder:
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
            with pytest.raises(StoreInUse):
                open_client(ClickHouseSettings(path=str(path)))
        finally:
            holder.kill()


def test_an_unreachable_server_is_store_unavailable():
    with pytest.raises(StoreUnavailable):
        open_client(ClickHouseSettings(url=f"http://127.0.0.1:{free_port()}/carelay"))


@pytest.mark.parametrize(("url", "expected"), [
    ("http://127.0.0.1:8123/carelay", ("127.0.0.1", 8123, "default", "", False, "carelay")),
    ("https://ana:p%40ss@ch.example:9440/analytics", ("ch.example", 9440, "ana", "p@ss", True, "analytics")),
    ("https://u:p@ch.example", ("ch.example", 8443, "u", "p", True, "carelay")),
])
def test_parse_url(url: str, expected: tuple):
    t = parse_url(url)
    assert (t.host, t.port, t.username, t.password, t.secure, t.database) == expected


@pytest.mark.parametrize("url", ["clickhouse://h/db", "http:///db", "http://h/bad-name;drop", "http://h:x/db"])
def test_parse_url_rejects(url: str):
    with pytest.raises(ConfigError):
        parse_url(url)
