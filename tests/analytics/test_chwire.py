"""ClickHouse's HTTP interface, the pure pieces: credentials, the statement and its format, settings, scoping."""
from __future__ import annotations

import base64
from typing import Any

import pytest

from analytics import chwire
from analytics.exceptions import QueryRejected


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize(("headers", "args", "expected"), [
    ({"authorization": basic("ana", "k1")}, {}, ("ana", "k1")),
    ({"authorization": basic("ana", "pa:ss")}, {}, ("ana", "pa:ss")),
    ({"authorization": basic("ana", "")}, {}, None),
    ({"authorization": "Basic !!!"}, {}, None),
    ({"authorization": "Bearer k2"}, {}, ("", "k2")),
    ({"x-clickhouse-user": "ana", "x-clickhouse-key": "k3"}, {}, ("ana", "k3")),
    ({}, {"user": "ana", "password": "k4"}, ("ana", "k4")),
    ({}, {"user": "ana"}, None),
    ({}, {}, None),
], ids=["basic", "basic-colon-in-password", "basic-empty-password", "basic-not-base64", "bearer",
        "x-clickhouse-headers", "query-arguments", "user-without-password", "nothing"])
def test_credentials(headers: dict[str, str], args: dict[str, str], expected: tuple[str, str] | None):
    creds = chwire.credentials(headers, args)
    assert (None if creds is None else (creds.user, creds.key)) == expected


@pytest.mark.parametrize(("args", "body", "headers", "expected"), [
    ({}, "SELECT 1\n FORMAT Native", {}, ("SELECT 1", "Native", {})),
    ({}, "SELECT 1 format JSONEachRow;", {}, ("SELECT 1", "JSONEachRow", {})),
    ({}, "SELECT version(), timezone()", {}, ("SELECT version(), timezone()", "TabSeparated", {})),
    ({"default_format": "CSV"}, "SELECT 1", {}, ("SELECT 1", "CSV", {})),
    ({}, "SELECT 1", {"x-clickhouse-format": "JSON"}, ("SELECT 1", "JSON", {})),
    ({"query": "SELECT"}, "1", {}, ("SELECT\n1", "TabSeparated", {})),
    ({"query": "SELECT {n:UInt8}", "param_n": "4", "session_id": "s", "database": "default"}, "", {},
     ("SELECT {n:UInt8}", "TabSeparated", {"n": "4"})),
    ({}, "SELECT format FROM t", {}, ("SELECT format FROM t", "TabSeparated", {})),
], ids=["native", "lowercase-format-and-semicolon", "no-format", "default-format-argument", "format-header",
        "query-argument-and-body-joined", "parameters-and-transport-arguments", "column-named-format"])
def test_wire_query(args: dict[str, str], body: str, headers: dict[str, str], expected: tuple[Any, ...]):
    wq = chwire.wire_query(args, body, headers)
    assert (wq.sql, wq.fmt, wq.params) == expected


@pytest.mark.parametrize(("args", "body", "message"), [
    ({}, "  ", "empty query"),
    ({}, "SELECT 1 FORMAT XML", "output format 'XML'"),
    ({"readonly": "0"}, "SELECT 1", "Cannot modify 'readonly'"),
    ({"max_result_rows": "0"}, "SELECT 1", "Cannot modify 'max_result_rows'"),
    ({"database": "system"}, "SELECT 1", "database 'system'"),
    ({"param_a-b": "1"}, "SELECT 1", "bad parameter name"),
], ids=["empty", "unlisted-format", "readonly-setting", "limit-setting", "other-database", "bad-parameter-name"])
def test_wire_query_refusals(args: dict[str, str], body: str, message: str):
    with pytest.raises(QueryRejected, match=message):
        chwire.wire_query(args, body, {})


TREE = "QUERY id: 0\n  JOIN TREE\n    {}\n"


@pytest.mark.parametrize(("node", "expected"), [
    ("TABLE id: 3, alias: __table1, table_name: carelay.events", ["carelay.events"]),
    ("TABLE id: 3, alias: __table1, table_name: carelay.message_state, final: 1", ["carelay.message_state"]),
    ("TABLE id: 3, table_name: system.one", ["system.one"]),
    ("TABLE id: 3, alias: x, table_name: carelay.events, table_name: carelay.channel_health", QueryRejected),
    ("TABLE id: 3, alias: __table1, table_name: carelay.channel_health", QueryRejected),
    ("TABLE id: 3, alias: __table1, table_name: system.processes", QueryRejected),
    ("TABLE_FUNCTION id: 3, alias: __table1, table_function_name: merge", QueryRejected),
    ("TABLE id: 3", QueryRejected),
], ids=["organization-table", "final", "system-one", "alias-imitating-a-name", "no-organization-column",
        "unlisted-system-table", "table-function", "no-name"])
def test_scoped_tables(node: str, expected: Any):
    if expected is QueryRejected:
        with pytest.raises(QueryRejected):
            chwire.scoped_tables(TREE.format(node))
    else:
        assert chwire.scoped_tables(TREE.format(node)) == expected


@pytest.mark.parametrize(("org", "fragment"), [
    ("clinic-42", r"'events': 'organization_id = \'clinic-42\''"),
    ("o'brien", r"'carelay.events': 'organization_id = \'o\\\'brien\''"),
], ids=["plain", "quote-in-name"])
def test_table_filters_cover_every_organization_table(org: str, fragment: str):
    filters = chwire.table_filters(org)
    assert fragment in filters
    assert all(f"'carelay.{t}':" in filters and f"'{t}':" in filters for t in chwire.ORG_TABLES)


@pytest.mark.parametrize(("message", "code"), [
    ("Code: 396. DB::Exception: Limit for result exceeded", 396),
    ("something else", 0),
], ids=["engine-code", "no-code"])
def test_engine_code(message: str, code: int):
    assert chwire.engine_code(message) == code
