"""ClickHouse's HTTP interface on the analytics port, over the embedded store, for analysts' own tools.

`clickhouse_connect.get_client(host=..., port=<analytics port>, username=..., password=<API key>)`,
Grafana's ClickHouse data source (HTTP), DBeaver and the like connect here as to a read-only ClickHouse
server. Each request goes through the same steps as `POST /v1/sql` (the key of an analyst or auditor,
`sqlguard.check_select` on ClickHouse's own parse, a read-only session with the same execution and
result limits, an audit record), then the engine writes the answer in the format the client asked for
(clickhouse-connect asks for Native), which is passed through untouched.

The operator's keys (CARELAY_ANALYTICS_SQL_ORGS) read every organization, as with `/v1/sql`. Any other
analyst's key reads its own organization only: on a session of that organization whose
`additional_table_filters` limit each organization table to its rows, and only the tables
`chwire.SCOPED_TABLES` lists, as ClickHouse's query tree of the statement names them.
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import chdb
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from access.keys import ApiKey
from analytics import chwire
from analytics.access import AccessPolicy
from analytics.exceptions import (
    AnalyticsError,
    BodyTooLarge,
    Forbidden,
    QueryFailed,
    QueryRejected,
    StoreUnavailable,
    Unauthenticated,
)
from analytics.store import DEFAULT_DATABASE, QueryLimits

log = logging.getLogger(__name__)

SERVER_NAME = "carelay-analytics"
TIMEZONE = "UTC"
# (HTTP status, ClickHouse code, name) per refusal; a failure inside the engine keeps the engine's code.
WIRE_ERRORS: dict[type[Exception], tuple[int, int, str]] = {
    Unauthenticated: (401, 516, "AUTHENTICATION_FAILED"),
    Forbidden: (403, 497, "ACCESS_DENIED"),
    BodyTooLarge: (413, 1001, "BODY_TOO_LARGE"),
    QueryRejected: (400, 164, "READONLY"),
    QueryFailed: (400, 0, "QUERY_FAILED"),
    StoreUnavailable: (503, 1002, "STORE_UNAVAILABLE"),
    AnalyticsError: (500, 1000, "ANALYTICS_ERROR"),
}


class EngineSession:
    """One read-only handle on the embedded engine: the limits, then (for an organization) its table
    filters, then readonly=1, so the statement cannot lift any of them. Reopened after any failure, one
    query at a time (the engine hands what a failed call left on a handle to the next query)."""

    def __init__(self, path: str, limits: QueryLimits, organization_id: str | None = None) -> None:
        self._path = os.path.realpath(path)  # chdb compares engine paths literally
        self._setup = [f"SET {name} = {value!r}" for name, value in limits.settings().items() if name != "readonly"]
        if organization_id is not None:
            self._setup.append(f"SET additional_table_filters = {chwire.table_filters(organization_id)}")
        self._setup += [f"USE {DEFAULT_DATABASE}", "SET readonly = 1"]
        self._lock = threading.Lock()
        self._conn: Any = None

    def _open(self) -> Any:
        conn = chdb.connect(self._path)
        for statement in self._setup:
            conn.query(statement)
        return conn

    def run(self, sql: str, fmt: str, params: dict[str, str]) -> tuple[bytes, dict[str, str]]:
        """The engine's answer in `fmt`, and ClickHouse's summary of it."""
        with self._lock:
            try:
                if self._conn is None:
                    self._conn = self._open()
                result = self._conn.query(sql, fmt, params=params)
            except Exception as exc:
                self._reset()
                lines = str(exc).strip().splitlines()
                raise QueryFailed(lines[0][:500] if lines else type(exc).__name__) from None
        summary = {"read_rows": str(result.rows_read()), "read_bytes": str(result.bytes_read()),
                   "written_rows": "0", "written_bytes": "0", "elapsed_ns": str(int(result.elapsed() * 1e9))}
        return result.bytes(), summary

    def _reset(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:
                log.warning("closing a failed read-only engine handle failed", exc_info=True)
        self._conn = None

    def close(self) -> None:
        with self._lock:
            self._reset()


class EngineFront:
    """The engine sessions the ClickHouse interface reads through: the operator's, and one per organization."""

    def __init__(self, path: str, limits: QueryLimits) -> None:
        self._path, self._limits = path, limits
        self.everything = EngineSession(path, limits)
        self._orgs: dict[str, EngineSession] = {}
        self._lock = threading.Lock()

    def of(self, organization_id: str) -> EngineSession:
        with self._lock:
            if organization_id not in self._orgs:
                self._orgs[organization_id] = EngineSession(self._path, self._limits, organization_id)
            return self._orgs[organization_id]

    def close(self) -> None:
        for session in (self.everything, *self._orgs.values()):
            session.close()


def wire_error(exc: Exception) -> Response:
    status, code, name = 500, 1000, "ANALYTICS_ERROR"
    for cls in type(exc).__mro__:
        if cls in WIRE_ERRORS:
            status, code, name = WIRE_ERRORS[cls]
            break
    else:
        log.exception("unexpected error in the ClickHouse interface", exc_info=exc)
    message = str(exc).rstrip(".") or name
    if isinstance(exc, QueryFailed) and chwire.engine_code(message):
        code = chwire.engine_code(message)
        body = (message + "\n").encode()
    else:
        body = chwire.error_body(code, name, message)
    headers = {"X-ClickHouse-Exception-Code": str(code), "X-ClickHouse-Server-Display-Name": SERVER_NAME}
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="carelay-analytics"'
    return Response(body, status_code=status, media_type="text/plain; charset=UTF-8", headers=headers)


def identify(policy: AccessPolicy, request: Request) -> ApiKey:
    creds = chwire.credentials(request.headers, request.query_params)
    if creds is None:
        raise Unauthenticated("the analyst's API key is the password (HTTP basic auth or X-ClickHouse-Key)")
    return policy.identify({"authorization": f"Bearer {creds.key}"})


Handler = Callable[[Request], Awaitable[Response]]
Audited = Callable[..., Handler]


def routes(front: EngineFront, policy: AccessPolicy, check: Callable[[str], str], audited: Audited,
           read_body: Callable[[Request], Awaitable[bytes]]) -> list[Route]:
    """`/` (GET and POST, as ClickHouse serves queries) and `/ping`; `audited` is the app's audit wrapper."""

    async def query(request: Request) -> Response:
        key: ApiKey = request.state.key
        raw = await read_body(request)
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError:  # an INSERT's data: no read has a binary body
            raise QueryRejected("only SELECT or WITH … SELECT statements are allowed") from None
        if not raw and "query" not in request.query_params and request.method == "GET":
            return Response(b"Ok.\n", media_type="text/plain; charset=UTF-8")
        wq = chwire.wire_query(request.query_params, body, request.headers)
        statement = await run_in_threadpool(check, wq.sql)
        if policy.sees_all(key):
            session = front.everything
        else:
            session = front.of(key.organization_id)
            tree, _ = await run_in_threadpool(session.run, f"EXPLAIN QUERY TREE {statement}", "TSVRaw", wq.params)
            chwire.scoped_tables(tree.decode("utf-8", "replace"))
        started = time.perf_counter()
        data, summary = await run_in_threadpool(session.run, statement, wq.fmt, wq.params)
        summary["elapsed_ns"] = str(int((time.perf_counter() - started) * 1e9))
        return Response(data, media_type=chwire.FORMATS[wq.fmt], headers={
            "X-ClickHouse-Format": wq.fmt, "X-ClickHouse-Timezone": TIMEZONE,
            "X-ClickHouse-Query-Id": wq.query_id or str(uuid.uuid4()),
            "X-ClickHouse-Server-Display-Name": SERVER_NAME, "X-ClickHouse-Summary": json.dumps(summary),
            "X-ClickHouse-Database": DEFAULT_DATABASE})

    async def ping(request: Request) -> Response:
        return Response(b"Ok.\n", media_type="text/plain; charset=UTF-8")

    endpoint = audited("analytics.clickhouse", query, lambda r: identify(policy, r), wire_error)
    return [Route("/", endpoint, methods=["GET", "POST"]), Route("/ping", ping, methods=["GET"])]
