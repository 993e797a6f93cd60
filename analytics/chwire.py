"""ClickHouse's HTTP interface as analysts' tools speak it (clickhouse-connect, Grafana, DBeaver): pure pieces.

A request to `/` carries the SQL in the `query` argument, the body, or both (ClickHouse joins them with a
newline); the output format in a trailing `FORMAT` clause, `default_format` or `X-ClickHouse-Format`;
credentials as HTTP basic auth, `X-ClickHouse-User`/`X-ClickHouse-Key` or `user`/`password` arguments;
bound values as `param_<name>` arguments. Everything else in the query string is a setting: the few
that only shape the transport are ignored, any other is refused as ClickHouse refuses it on a
read-only server (code 164).

An organization's analyst (not the operator) reads through `scoped_tables`: the tables the statement
reads, from ClickHouse's own analysis of it (`EXPLAIN QUERY TREE`), must all be on the allowlist and no
table function may appear; the session also filters every organization table to that organization.
"""
from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass

from analytics.exceptions import QueryRejected

DEFAULT_FORMAT = "TabSeparated"
# Output formats passed through from the engine as it writes them. Names are ClickHouse's (case-sensitive).
FORMATS: Mapping[str, str] = {
    **{f: "application/octet-stream" for f in (
        "Native", "RowBinary", "RowBinaryWithNames", "RowBinaryWithNamesAndTypes", "Arrow", "ArrowStream",
        "Parquet")},
    **{f: "text/tab-separated-values; charset=UTF-8" for f in (
        "TabSeparated", "TSV", "TabSeparatedRaw", "TSVRaw", "TabSeparatedWithNames", "TSVWithNames",
        "TabSeparatedWithNamesAndTypes", "TSVWithNamesAndTypes")},
    **{f: "text/csv; charset=UTF-8" for f in ("CSV", "CSVWithNames", "CSVWithNamesAndTypes")},
    **{f: "application/json; charset=UTF-8" for f in (
        "JSON", "JSONCompact", "JSONStrings", "JSONEachRow", "JSONCompactEachRow", "JSONStringsEachRow",
        "JSONCompactEachRowWithNamesAndTypes")},
    **{f: "text/plain; charset=UTF-8" for f in ("Values", "Pretty", "PrettyCompact", "Vertical")},
}
# Query arguments that shape the HTTP exchange only: accepted and ignored (the answer is never compressed
# and there are no server-side sessions; each request stands alone).
TRANSPORT = frozenset({
    "query", "user", "password", "database", "default_format", "session_id", "session_timeout", "session_check",
    "query_id", "quota_key", "compress", "decompress", "wait_end_of_query", "client_protocol_version", "role",
    "buffer_size", "enable_http_compression", "send_progress_in_http_headers", "http_headers_progress_interval_ms",
    "cancel_http_readonly_queries_on_client_close", "date_time_input_format", "output_format_json_quote_64bit_integers",
    "extremes", "add_http_cors_header", "http_zlib_compression_level",
    # Grafana's data source sends its query timeout; the service's own limit (never lifted) applies instead
    "max_execution_time",
})
DATABASES = frozenset({"", "default", "carelay"})  # `default` is what tools ask for when none is configured
_TRAILING_FORMAT = re.compile(r"\sFORMAT\s+([A-Za-z][A-Za-z0-9_]*)\s*;?\s*$", re.IGNORECASE)
_PARAM_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# What an organization's analyst may read: the organization's own rows of these (the session filters
# each by organization_id), the schema's own ledger, and the system tables tools read for the schema
# and the server's settings. Never a table function, never channel_health (it names no organization).
ORG_TABLES = ("events", "message_state", "audit_log", "conversations", "outcomes_hourly", "latency_hourly")
SCOPED_TABLES = frozenset({
    *(f"carelay.{t}" for t in (*ORG_TABLES, "conversation_summary", "schema_migrations")),
    "system.one", "system.settings", "system.databases", "system.tables", "system.columns", "system.functions",
    "system.data_type_families", "system.table_engines", "system.formats", "system.time_zones",
})


@dataclass(frozen=True)
class WireQuery:
    sql: str  # without its FORMAT clause
    fmt: str
    params: dict[str, str]  # bound values, as ClickHouse's escaped text
    query_id: str


@dataclass(frozen=True)
class Credentials:
    user: str
    key: str


def credentials(headers: Mapping[str, str], args: Mapping[str, str]) -> Credentials | None:
    """The analyst's API key from whichever place ClickHouse accepts a password (or a Bearer key)."""
    auth = headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() == "basic":
        try:
            user, sep, password = base64.b64decode(token.strip(), validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return Credentials(user, password) if sep and password else None
    if scheme.lower() == "bearer" and token.strip():
        return Credentials("", token.strip())
    if headers.get("x-clickhouse-key"):
        return Credentials(headers.get("x-clickhouse-user", ""), headers["x-clickhouse-key"])
    if args.get("password"):
        return Credentials(args.get("user", ""), args["password"])
    return None


def split_format(sql: str, args: Mapping[str, str], headers: Mapping[str, str]) -> tuple[str, str]:
    """The statement without its trailing `FORMAT x`, and the output format (refused unless listed)."""
    match = _TRAILING_FORMAT.search(sql)
    if match:
        fmt, sql = match.group(1), sql[:match.start()]
    else:
        fmt = args.get("default_format") or headers.get("x-clickhouse-format") or DEFAULT_FORMAT
    if fmt not in FORMATS:
        raise QueryRejected(f"output format {fmt!r} is not served here; one of {', '.join(sorted(FORMATS))}")
    return sql.strip(), fmt


def wire_query(args: Mapping[str, str], body: str, headers: Mapping[str, str]) -> WireQuery:
    """One request's statement, format and bound values, or QueryRejected naming what is not allowed."""
    text = "\n".join(part for part in (args.get("query", ""), body) if part.strip())
    if not text.strip():
        raise QueryRejected("empty query: send the SQL in the body or the `query` argument")
    database = args.get("database", "")
    if database not in DATABASES:
        raise QueryRejected(f"database {database!r} does not exist here; the tables are in `carelay`")
    params: dict[str, str] = {}
    for name, value in args.items():
        if name.startswith("param_"):
            if not _PARAM_NAME.match(name[6:]):
                raise QueryRejected(f"bad parameter name {name!r}")
            params[name[6:]] = value
        elif name not in TRANSPORT:
            raise QueryRejected(f"Cannot modify '{name}' setting in readonly mode")
    sql, fmt = split_format(text, args, headers)
    return WireQuery(sql, fmt, params, args.get("query_id", ""))


def scoped_tables(query_tree: str) -> list[str]:
    """The tables in ClickHouse's query tree of a statement, or QueryRejected when an organization's analyst
    may not read one of them (or it uses a table function)."""
    tables = []
    for line in query_tree.splitlines():
        node = line.strip()
        if "TABLE_FUNCTION" in node:
            raise QueryRejected("table functions are for the operator's keys only")
        if node.startswith("TABLE id:"):
            # `TABLE id: 3, alias: __table1, table_name: carelay.events, final: 1`: an alias comes before the
            # name, so the last `table_name` is the table's own
            name = node.rsplit(", table_name: ", 1)[-1].split(", ", 1)[0] if ", table_name: " in node else ""
            if name not in SCOPED_TABLES:
                raise QueryRejected(f"table {name or '?'} is not readable with an organization's key")
            tables.append(name)
    return tables


def table_filters(organization_id: str) -> str:
    """The `additional_table_filters` value that limits every organization table to one organization."""
    literal = organization_id.replace("\\", "\\\\").replace("'", "\\'")
    condition = f"organization_id = '{literal}'".replace("\\", "\\\\").replace("'", "\\'")
    entries = [f"'{name}': '{condition}'" for t in ORG_TABLES for name in (t, f"carelay.{t}")]
    return "{" + ", ".join(entries) + "}"


def error_body(code: int, name: str, message: str) -> bytes:
    """An error as ClickHouse writes it; clients read the code from the header and the text from here."""
    return f"Code: {code}. DB::Exception: {message}. ({name})\n".encode()


_CODE = re.compile(r"Code: (\d+)\.")


def engine_code(message: str) -> int:
    match = _CODE.search(message)
    return int(match.group(1)) if match else 0
