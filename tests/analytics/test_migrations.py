"""Migrations and TTL alignment over a recording store (no ClickHouse): what runs, in which order, when."""
from __future__ import annotations

import dataclasses
from types import SimpleNamespace
from typing import Any

import pytest

from analytics import migrations
from analytics.migrations import MIGRATIONS, TTL_RULES, apply_ttls, migrate, ttl_clause
from schemas.settings import Settings

CH = Settings.from_env({}).clickhouse


class Recorder:
    """A Store answering the ledger and system.tables from dictionaries; commands and inserts are recorded."""

    def __init__(self, applied: set[int] | None = None, engines: dict[str, str] | None = None) -> None:
        self.applied = set(applied or ())
        self.engines = engines if engines is not None else {t: ttl_engine(t, CH) for t in TTL_RULES}
        self.commands: list[str] = []

    def command(self, sql: str) -> None:
        self.commands.append(sql)

    def query(self, sql: str, parameters: Any = None) -> Any:
        if "schema_migrations" in sql:
            return SimpleNamespace(rows=[(v,) for v in sorted(self.applied)])
        return SimpleNamespace(rows=list(self.engines.items()))

    def insert(self, table: str, rows: list[tuple[Any, ...]], columns: tuple[str, ...]) -> None:
        assert (table, columns) == ("schema_migrations", ("version", "name"))
        self.applied |= {int(r[0]) for r in rows}


def ttl_engine(table: str, ch: Any) -> str:
    days = TTL_RULES[table].days(ch)
    return "ReplacingMergeTree ORDER BY x" + (f" TTL {TTL_RULES[table].expression} + toIntervalDay({days})"
                                               if days else "")


def test_a_fresh_store_gets_every_migration_in_order_then_nothing_again() -> None:
    store = Recorder()
    assert migrate(store, CH) == [m.version for m in MIGRATIONS]
    assert store.applied == {m.version for m in MIGRATIONS}
    first_ddl = MIGRATIONS[0].statements(CH)
    assert store.commands[1:1 + len(first_ddl)] == first_ddl  # after the ledger's CREATE
    store.commands.clear()
    assert migrate(store, CH) == []
    assert all("schema_migrations" in c for c in store.commands)  # only the ledger's CREATE IF NOT EXISTS


def test_only_the_missing_migrations_run() -> None:
    store = Recorder(applied={1})
    assert migrate(store, CH) == [m.version for m in MIGRATIONS if m.version != 1]
    assert not any(c in store.commands for c in MIGRATIONS[0].statements(CH))


TTLS = [
    # (table, its engine, days in settings) -> the command run, if any
    pytest.param("events", "MergeTree TTL toDateTime(occurred_at) + toIntervalDay(90)", 90, None, id="already-aligned"),
    pytest.param("events", "MergeTree TTL toDateTime(occurred_at) + toIntervalDay(90)", 30,
                 "ALTER TABLE events MODIFY TTL toDateTime(occurred_at) + INTERVAL 30 DAY", id="shorter"),
    pytest.param("events", "MergeTree TTL toDateTime(occurred_at) + toIntervalDay(3)", 30,
                 "ALTER TABLE events MODIFY TTL toDateTime(occurred_at) + INTERVAL 30 DAY",
                 id="prefix-of-the-wanted-days-is-not-a-match"),
    pytest.param("events", "MergeTree TTL toDateTime(occurred_at) + toIntervalDay(30)", 3,
                 "ALTER TABLE events MODIFY TTL toDateTime(occurred_at) + INTERVAL 3 DAY",
                 id="wanted-days-a-prefix-of-the-kept"),
    pytest.param("events", "MergeTree ORDER BY x", 30,
                 "ALTER TABLE events MODIFY TTL toDateTime(occurred_at) + INTERVAL 30 DAY", id="no-ttl-yet"),
    pytest.param("events", "MergeTree TTL toDateTime(occurred_at) + toIntervalDay(90)", 0,
                 "ALTER TABLE events REMOVE TTL", id="zero-days-keeps-forever"),
    pytest.param("events", "MergeTree ORDER BY x", 0, None, id="zero-days-and-no-ttl"),
]


@pytest.mark.parametrize(("table", "engine", "days", "command"), TTLS)
def test_apply_ttls(table: str, engine: str, days: int, command: str | None) -> None:
    ch = dataclasses.replace(CH, event_ttl_days=days)
    engines = {t: ttl_engine(t, ch) for t in TTL_RULES} | {table: engine}
    store = Recorder(engines=engines)
    changed = apply_ttls(store, ch)
    assert store.commands == ([command] if command else [])
    assert changed == ([table] if command else [])


@pytest.mark.parametrize(("table", "days", "clause"), [
    pytest.param("events", 30, "TTL toDateTime(occurred_at) + INTERVAL 30 DAY", id="events"),
    pytest.param("message_state", 7, "TTL toDateTime(updated_at) + INTERVAL 7 DAY", id="state"),
    pytest.param("events", 0, "", id="keep-forever"),
])
def test_ttl_clause(table: str, days: int, clause: str) -> None:
    ch = dataclasses.replace(CH, event_ttl_days=days, state_ttl_days=days)
    assert ttl_clause(table, ch) == clause


def test_audit_is_kept_longest_by_default() -> None:
    assert CH.audit_ttl_days > max(CH.event_ttl_days, CH.state_ttl_days)
    assert TTL_RULES["audit_log"].days is migrations._audit_days
