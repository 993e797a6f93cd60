"""Analysts' HTTP access, served by the process that owns the store: read-only SQL, the report, health.

Endpoints only authenticate, call, and answer; one table maps exceptions to responses. Reports and
ad-hoc SQL run on separate read-only ClickHouse sessions (readonly=1 with execution and result
limits, each reopened after any failed query, `store.Readers`); ad-hoc SQL runs only as the statement
`sqlguard.check_select` read back from ClickHouse's own parser. Every request is audited (who, which
endpoint, outcome), never the SQL text's results.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from access.keys import ApiKey
from analytics import chhttp, dashboard, queries
from analytics.access import AccessPolicy
from analytics.chhttp import EngineFront
from analytics.exceptions import (
    AnalyticsError,
    BodyTooLarge,
    Forbidden,
    QueryFailed,
    QueryRejected,
    StoreUnavailable,
    Unauthenticated,
)
from analytics.metrics import AnalyticsMetrics
from analytics.sqlguard import Formatter, check_select
from analytics.store import Readers, Result, Store

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64_000

# Looked up along the exception's class hierarchy, most specific first.
ERROR_STATUS: dict[type[Exception], tuple[int, str]] = {
    BodyTooLarge: (413, "body_too_large"),
    QueryRejected: (400, "query_rejected"),
    QueryFailed: (400, "query_failed"),
    Unauthenticated: (401, "unauthenticated"),
    Forbidden: (403, "forbidden"),
    StoreUnavailable: (503, "store_unavailable"),
    AnalyticsError: (500, "analytics_error"),
}



@dataclass(frozen=True)
class Access:
    """One analytics request, for the audit trail: who, what, outcome. Never the query's results."""

    actor: str
    role: str
    organization_id: str
    action: str
    outcome: str
    reason: str
    remote_addr: str


Auditor = Callable[[Access], None]


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    return str(value)  # UUID, IP addresses, ...


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = orjson.dumps(payload, default=_json_default, option=orjson.OPT_NAIVE_UTC)
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def error_response(exc: Exception) -> Response:
    for cls in type(exc).__mro__:
        if cls in ERROR_STATUS:
            status, code = ERROR_STATUS[cls]
            headers = {"WWW-Authenticate": 'Bearer realm="carelay-analytics"'} if status == 401 else None
            return json_response({"error": code, "message": str(exc)}, status, headers)
    log.exception("unexpected error in the analytics API", exc_info=exc)
    return json_response({"error": "internal", "message": "internal error"}, 500)


def result_payload(result: Result, elapsed_s: float) -> dict[str, Any]:
    return {
        "columns": [{"name": n, "type": t} for n, t in zip(result.columns, result.types, strict=True)],
        "rows": [list(r) for r in result.rows],
        "row_count": len(result.rows),
        "elapsed_ms": round(elapsed_s * 1000, 1),
    }


Param = str | int | float | list[str | int | float]


def _scalar(value: Any) -> bool:
    return isinstance(value, str | int | float) and not isinstance(value, bool)


def _sql_params(raw: Any) -> dict[str, Param]:
    """Values for ClickHouse's server-side placeholders, `{name:Type}`: bound, never spliced into SQL."""
    if raw is None:
        return {}
    if not isinstance(raw, dict) or not all(
            isinstance(k, str) and (_scalar(v) or (isinstance(v, list) and all(_scalar(x) for x in v)))
            for k, v in raw.items()):
        raise QueryRejected("`params` must map names to strings, numbers or lists of them")
    return raw


def _parse_time(text: str | None, default: datetime, name: str) -> datetime:
    if not text:
        return default
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise QueryRejected(f"`{name}` must be an ISO 8601 date or time") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def read_limited(request: Request, limit: int) -> bytes:
    """The request body, refused as soon as it is known to exceed `limit` bytes (never read whole)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(f"body larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(f"body larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def engine_formatter(parser: Store) -> Formatter:
    """ClickHouse's own reading of a text: `formatQuery` on a bound parameter, so it is parsed, never run."""
    def canonical(sql: str) -> str:
        try:
            result = parser.query("SELECT formatQuery({sql:String})", {"sql": sql})
        except QueryFailed as exc:
            raise QueryRejected(f"ClickHouse does not read this as one statement: {exc}") from None
        return str(result.rows[0][0])
    return canonical


def create_app(readers: Readers, policy: AccessPolicy, health: Callable[[], dict[str, Any]],
               audit: Auditor | None = None, metrics: AnalyticsMetrics | None = None,
               engine: EngineFront | None = None) -> Starlette:
    """The analysts' API; with `engine` (the embedded store's read-only sessions) also ClickHouse's HTTP
    interface at `/` (analytics.chhttp)."""
    canonical = engine_formatter(readers.parser)
    metrics = metrics or AnalyticsMetrics()

    def audited(action: str, handler: Callable[[Request], Awaitable[Response]],
                identify: Callable[[Request], ApiKey] | None = None,
                on_error: Callable[[Exception], Response] = error_response,
                ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            who = {"actor": "anonymous", "role": "", "organization_id": ""}
            outcome, reason = "allowed", ""
            try:
                key = identify(request) if identify else policy.identify(request.headers)
                who = {"actor": key.key_id, "role": key.role.value, "organization_id": key.organization_id}
                policy.require_reader(key)
                request.state.key = key
                return await handler(request)
            except Exception as exc:
                outcome = "denied" if isinstance(exc, Unauthenticated | Forbidden) else "error"
                reason = type(exc).__name__
                return on_error(exc)
            finally:
                metrics.queries.labels(action, outcome).inc()
                if audit is not None:
                    client = request.client.host if request.client else ""
                    try:
                        audit(Access(**who, action=action, outcome=outcome, reason=reason, remote_addr=client))
                    except Exception:  # the trail must not break the answer; the failure is logged loudly
                        log.exception("could not audit an analytics request")
        return endpoint

    async def sql(request: Request) -> Response:
        policy.require_sql(request.state.key)
        body = await read_limited(request, MAX_BODY_BYTES)
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise QueryRejected('the body must be JSON: {"sql": "SELECT ..."}') from None
        if not isinstance(payload, dict) or not isinstance(payload.get("sql"), str):
            raise QueryRejected('the body must be JSON: {"sql": "SELECT ...", "params": {...}}')
        params = _sql_params(payload.get("params"))
        statement = await run_in_threadpool(check_select, payload["sql"], canonical)
        started = time.perf_counter()
        result = await run_in_threadpool(readers.sql.query, statement, params)
        elapsed = time.perf_counter() - started
        metrics.answered("analytics.sql", len(result.rows), elapsed)
        return json_response(result_payload(result, elapsed))

    async def report(request: Request) -> Response:
        now = datetime.now(UTC)
        start = _parse_time(request.query_params.get("from"), now - timedelta(days=1), "from")
        end = _parse_time(request.query_params.get("to"), now, "to")
        org = policy.report_org(request.state.key, request.query_params.get("org", ""))
        began = started = time.perf_counter()
        result = await run_in_threadpool(queries.delivery_report, readers.report, start, end, org)
        payload = result_payload(result, time.perf_counter() - started)
        started = time.perf_counter()
        answers = await run_in_threadpool(queries.appointments, readers.report, start, end, org)
        payload["appointments"] = result_payload(answers, time.perf_counter() - started)
        metrics.answered("analytics.report", len(result.rows) + len(answers.rows), time.perf_counter() - began)
        return json_response({"from": start, "to": end, "organization_id": org} | payload)

    async def dashboard_view(request: Request) -> Response:
        """The console's reporting dashboard: every section of `analytics.dashboard` in one answer."""
        now = datetime.now(UTC)
        start = _parse_time(request.query_params.get("from"), now - timedelta(days=7), "from")
        end = _parse_time(request.query_params.get("to"), now, "to")
        org = policy.report_org(request.state.key, request.query_params.get("org", ""))
        tz = request.query_params.get("tz") or "UTC"
        started = time.perf_counter()
        grain, results = await run_in_threadpool(dashboard.run, readers.report, start, end, org, tz)
        elapsed = time.perf_counter() - started
        metrics.answered("analytics.dashboard", sum(len(r.rows) for r in results.values()), elapsed)
        return json_response({"from": start, "to": end, "organization_id": org, "tz": tz, "grain": grain,
                              "elapsed_ms": round(elapsed * 1000, 1),
                              "sections": {name: result_payload(r, 0) for name, r in results.items()}})

    async def healthz(request: Request) -> Response:
        state = await run_in_threadpool(health)
        return json_response(state, 200 if state.get("status") == "ok" else 503)

    clickhouse = [] if engine is None else chhttp.routes(
        engine, policy, lambda text: check_select(text, canonical), audited,
        lambda request: read_limited(request, MAX_BODY_BYTES))
    return Starlette(routes=[
        *clickhouse,
        Route("/v1/sql", audited("analytics.sql", sql), methods=["POST"]),
        Route("/v1/report", audited("analytics.report", report), methods=["GET"]),
        Route("/v1/dashboard", audited("analytics.dashboard", dashboard_view), methods=["GET"]),
        Route("/v1/health", healthz, methods=["GET"]),
        Route("/metrics", metrics.endpoint, methods=["GET"]),
    ])
