"""One small interface over clickhouse-connect for both backends: embedded chdb and a ClickHouse server.

`open_client(settings.clickhouse)` picks the backend (url empty → chdb at `path`); every caller then
uses the same DDL and SQL. chdb allows one data path per process and locks it, so exactly one process
(the analytics sink) opens the embedded store; everything else asks that process over HTTP.
"""
from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import clickhouse_connect
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError, DatabaseError, OperationalError, ProgrammingError

from analytics.exceptions import QueryFailed, StoreInUse, StoreUnavailable
from schemas.errors import ConfigError
from schemas.settings import ClickHouseSettings

log = logging.getLogger(__name__)

DEFAULT_DATABASE = "carelay"
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


@dataclass(frozen=True)
class QueryLimits:
    """Session limits of an analysts' handle; `readonly=1` is applied last, so nothing can lift them."""

    max_execution_time_s: int
    max_result_rows: int

    def settings(self) -> dict[str, Any]:
        # Order matters: once readonly=1 is set, the session refuses every further setting change,
        # including a SETTINGS clause smuggled into the analyst's own query.
        return {
            "max_execution_time": self.max_execution_time_s,
            "max_result_rows": self.max_result_rows,
            "result_overflow_mode": "throw",
            "readonly": 1,
        }


@dataclass(frozen=True)
class Result:
    columns: tuple[str, ...]
    types: tuple[str, ...]
    rows: list[tuple[Any, ...]]


@dataclass(frozen=True)
class ServerTarget:
    host: str
    port: int
    username: str
    password: str
    secure: bool
    database: str


def parse_url(url: str) -> ServerTarget:
    """`http(s)://user:password@host:port/database`; https means TLS. The password is URL-encoded."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError("CARELAY_CLICKHOUSE_URL: must be http(s)://user:password@host:port/database")
    secure = parts.scheme == "https"
    try:
        port = parts.port or (8443 if secure else 8123)
    except ValueError as exc:
        raise ConfigError("CARELAY_CLICKHOUSE_URL: invalid port") from exc
    database = unquote(parts.path.strip("/")) or DEFAULT_DATABASE
    if not _IDENTIFIER.match(database):  # it is spliced into CREATE DATABASE
        raise ConfigError("CARELAY_CLICKHOUSE_URL: the database name must be a plain identifier")
    return ServerTarget(
        host=parts.hostname, port=port, username=unquote(parts.username or "default"),
        password=unquote(parts.password or ""), secure=secure, database=database,
    )


class Store:
    """A clickhouse-connect client with carelay's error mapping. Not shared across processes."""

    def __init__(self, client: Client, backend: str, database: str) -> None:
        self._client = client
        self.backend = backend  # "chdb" or "server"
        self.database = database

    def command(self, sql: str, parameters: Mapping[str, Any] | None = None) -> Any:
        try:
            return self._client.command(sql, parameters=dict(parameters or {}))
        except OperationalError as exc:  # transport: the server is unreachable or dropped the call
            raise StoreUnavailable(f"ClickHouse command failed ({type(exc).__name__})") from exc
        except DatabaseError as exc:
            raise QueryFailed(_scrub(exc)) from exc
        except ClickHouseError as exc:
            raise StoreUnavailable(f"ClickHouse command failed ({type(exc).__name__})") from exc

    def query(self, sql: str, parameters: Mapping[str, Any] | None = None) -> Result:
        try:
            res = self._client.query(sql, parameters=dict(parameters or {}))
        except OperationalError as exc:  # transport: the server is unreachable or dropped the call
            raise StoreUnavailable(f"ClickHouse query failed ({type(exc).__name__})") from exc
        except DatabaseError as exc:
            raise QueryFailed(_scrub(exc)) from exc
        except ClickHouseError as exc:
            raise StoreUnavailable(f"ClickHouse query failed ({type(exc).__name__})") from exc
        rows = [tuple(r) for r in res.result_rows]
        return Result(tuple(res.column_names), tuple(t.name for t in res.column_types), rows)

    def insert(self, table: str, rows: Sequence[Sequence[Any]], columns: Sequence[str], *,
               token: str | None = None) -> None:
        """Insert one batch as one block. `token` makes a retry of the very same batch a no-op
        (insert_deduplication_token, also in the materialized views fed by `table`)."""
        if not rows:
            return
        settings: dict[str, Any] = {}
        if token:
            settings = {"insert_deduplication_token": token, "deduplicate_blocks_in_dependent_materialized_views": 1}
        try:
            # column-oriented: one C-level transpose here instead of clickhouse-connect's per-row Python loop
            data = list(zip(*rows, strict=True))
            self._client.insert(table, data, column_names=list(columns), settings=settings, column_oriented=True)
        except Exception as exc:  # any failure leaves the batch uncommitted: the caller retries it
            raise StoreUnavailable(f"insert into {table} failed ({type(exc).__name__}: {_scrub(exc)})") from exc

    def ping(self) -> bool:
        try:
            return bool(self._client.ping())
        except Exception:
            return False

    def close(self) -> None:
        self._client.close()


class ReadSession(Store):
    """One read-only handle for one kind of caller, opened afresh after any failed query.

    The embedded engine keeps what a failed call left behind on its handle (rows of an earlier
    statement of the same call) and hands it to the next query on that handle; a fresh handle has
    nothing to hand over. Queries on one session run one at a time so that a reset never cuts
    another caller's query short.
    """

    def __init__(self, opener: Callable[[], Store]) -> None:
        first = opener()
        super().__init__(first._client, first.backend, first.database)
        self._opener = opener
        self._lock = threading.Lock()
        self.resets = 0

    def query(self, sql: str, parameters: Mapping[str, Any] | None = None) -> Result:
        with self._lock:
            try:
                return super().query(sql, parameters)
            except Exception:
                self._reset()
                raise

    def _reset(self) -> None:
        self.resets += 1
        try:
            self._client.close()
        except Exception:  # a broken handle is replaced all the same
            log.warning("closing a failed read-only ClickHouse handle failed", exc_info=True)
        try:
            self._client = self._opener()._client
        except Exception:  # the next query finds the closed handle, fails, and tries again
            log.warning("reopening a read-only ClickHouse handle failed", exc_info=True)

    def close(self) -> None:
        with self._lock:
            self._client.close()


@dataclass(frozen=True)
class Readers:
    """The analysts' read-only sessions, one per kind of caller, so no caller ever reads another's
    leftovers: reports, ad-hoc SQL, and the parser that checks ad-hoc SQL (`sqlguard`) without running it."""

    report: Store
    sql: Store
    parser: Store

    def close(self) -> None:
        for session in (self.report, self.sql, self.parser):
            session.close()


def open_readers(ch: ClickHouseSettings, limits: QueryLimits) -> Readers:
    def session() -> ReadSession:
        return ReadSession(lambda: open_client(ch, limits=limits))

    return Readers(report=session(), sql=session(), parser=session())


def _scrub(exc: Exception) -> str:
    # ClickHouse messages end with a stack trace and version; the first line says what went wrong.
    text = str(exc).strip().splitlines()
    return text[0][:500] if text else type(exc).__name__


def open_client(ch: ClickHouseSettings, *, limits: QueryLimits | None = None) -> Store:
    """The writer handle (limits=None; creates the database) or a read-only analysts' handle."""
    try:
        if not ch.url:
            return _open_embedded(ch.path, limits)
        return _open_server(parse_url(ch.url), limits)
    except ConfigError:
        raise
    except ClickHouseError as exc:
        raise StoreUnavailable(f"cannot open ClickHouse ({type(exc).__name__}: {_scrub(exc)})") from exc


def _open_embedded(path: str, limits: QueryLimits | None) -> Store:
    try:
        return _open_chdb(path, limits)
    except ProgrammingError as exc:
        if "Unable to open the chdb engine" in str(exc):
            raise StoreInUse(f"the embedded store at {path} is open in another process (only one may own it; "
                             "reach analytics through that process's HTTP API)") from exc
        raise


def _open_chdb(path: str, limits: QueryLimits | None) -> Store:
    if limits is None:
        client = clickhouse_connect.get_client(interface="chdb", path=path)
        _use_database(client, DEFAULT_DATABASE)
    else:  # the database exists: the writer handle created it before any reader opens
        client = clickhouse_connect.get_client(interface="chdb", path=path, database=DEFAULT_DATABASE,
                                               settings=limits.settings())
    return Store(client, "chdb", DEFAULT_DATABASE)


def _open_server(target: ServerTarget, limits: QueryLimits | None) -> Store:
    common = dict(host=target.host, port=target.port, username=target.username, password=target.password,
                  secure=target.secure)
    if limits is None:
        client = clickhouse_connect.get_client(**common)  # type: ignore[arg-type]
        _use_database(client, target.database)
    else:
        client = clickhouse_connect.get_client(**common, database=target.database,  # type: ignore[arg-type]
                                               settings=limits.settings())
    return Store(client, "server", target.database)


def _use_database(client: Client, database: str) -> None:
    client.command(f"CREATE DATABASE IF NOT EXISTS `{database}`")
    client.database = database
