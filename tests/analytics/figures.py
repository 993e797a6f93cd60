"""Loading a scenario without Kafka, and checking every metric query against the scenario's own figures.

`check_figures` takes anything with `.query(sql, params) -> Result`: the embedded store in-process,
or `HttpStore`, which asks the sink process's /v1/sql endpoint (the store is locked to that process).
"""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Any, Protocol

import httpx
import pytest

from analytics import queries
from analytics.batch import Batch
from analytics.rows import Source, to_rows
from analytics.store import Result, Store
from analytics.tables import COLUMNS
from tests.analytics.scenario import ORGS, Scenario, interpolated_quantile


class Queryable(Protocol):
    def query(self, sql: str, parameters: dict[str, Any] | None = None) -> Result: ...


class HttpStore:
    """The analytics HTTP API as a Store for queries.*: bound parameters travel as `params`."""

    def __init__(self, base_url: str, api_key: str) -> None:
        self._client = httpx.Client(base_url=base_url, timeout=60,
                                    headers={"Authorization": f"Bearer {api_key}"})

    def query(self, sql: str, parameters: dict[str, Any] | None = None) -> Result:
        params = {k: (v.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] if isinstance(v, datetime) else v)
                  for k, v in (parameters or {}).items()}
        response = self._client.post("/v1/sql", json={"sql": sql, "params": params})
        assert response.status_code == 200, response.text
        body = response.json()
        return Result(tuple(c["name"] for c in body["columns"]), tuple(c["type"] for c in body["columns"]),
                      [tuple(r) for r in body["rows"]])

    def close(self) -> None:
        self._client.close()


def load(store: Store, sc: Scenario, topic: str = "scenario") -> int:
    batch = Batch(max_rows=1_000_000, max_age_s=60)
    for offset, (value_type, record) in enumerate(sc.records):
        src = Source(f"{topic}.{value_type}", 0, offset)
        batch.add(src, to_rows(value_type, record, src), now=0)
    for table, rows in batch.rows.items():
        store.insert(table, rows, COLUMNS[table], token=batch.token(table))
    return batch.row_count


def dicts(result: Result) -> list[dict[str, Any]]:
    return [dict(zip(result.columns, row, strict=True)) for row in result.rows]


def window(sc: Scenario) -> tuple[datetime, datetime]:
    return sc.start - timedelta(hours=1), sc.start + timedelta(hours=3)


def check_rates(q: Queryable, sc: Scenario) -> None:
    start, end = window(sc)
    got: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for row in dicts(queries.rates(q, start, end, grain="hour", by=("organization_id", "channel"))):  # type: ignore[arg-type]
        for k in ("messages", "attempted", "delivered", "read", "failed", "failed_final", "blocked"):
            got[(row["organization_id"], row["channel"])][k] += row[k]  # one accepted hour per message
    assert {k: dict(v) for k, v in got.items()} == {k: sc.rates(*k) for k in sc.outcomes}


def check_latency(q: Queryable, sc: Scenario) -> None:
    start, end = window(sc)
    rows = dicts(queries.latency(q, start, end, grain="day", by=("organization_id", "channel")))  # type: ignore[arg-type]
    got = {(r["organization_id"], r["channel"], r["stage"]): (r["p50_ms"], r["p90_ms"]) for r in rows}
    assert set(got) == set(sc.latencies)
    for key, samples in sc.latencies.items():
        want = (interpolated_quantile(samples, 0.5), interpolated_quantile(samples, 0.9))
        assert got[key] == pytest.approx(want, abs=1), key
    exact = dicts(queries.latency_exact(q, start, end))  # type: ignore[arg-type]
    for r in exact:
        samples = sorted(sc.latencies[(r["organization_id"], r["channel"], r["stage"])])
        assert r["messages"] == len(samples)
        assert samples[0] <= r["p50_ms"] <= samples[-1]


def check_paths(q: Queryable, sc: Scenario) -> None:
    start, end = window(sc)
    fallback: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in dicts(queries.fallback(q, start, end)):  # type: ignore[arg-type]
        fallback[r["organization_id"]][0] += r["messages"]
        fallback[r["organization_id"]][1] += r["fell_back"]
    assert {k: tuple(v) for k, v in fallback.items()} == sc.fallback
    hops = {(r["organization_id"], r["hop"], r["channel"]): r["delivered_messages"]
            for r in dicts(queries.successful_hop(q, start, end))}  # type: ignore[arg-type]
    assert hops == dict(sc.hops)
    blocked = {(r["organization_id"], r["reason"]): r["messages"]
               for r in dicts(queries.blocked(q, start, end))}  # type: ignore[arg-type]
    assert blocked == dict(sc.blocked)


def check_consent_cost_appointments(q: Queryable, sc: Scenario) -> None:
    start, end = window(sc)
    opt = {r["organization_id"]: (r["recipients_messaged"], r["opted_out"])
           for r in dicts(queries.opt_outs(q, start, end))}  # type: ignore[arg-type]
    assert opt == {org: (len(sc.messaged[org]), len(sc.opted_out[org])) for org in ORGS}
    cost = {(r["organization_id"], r["channel"]): [r["total_micros"], r["delivered_messages"]]
            for r in dicts(queries.cost(q, start, end))}  # type: ignore[arg-type]
    assert cost == dict(sc.cost)
    for r in dicts(queries.cost(q, start, end, "clinic-a")):  # type: ignore[arg-type]
        assert r["organization_id"] == "clinic-a"
        assert r["cost_per_delivered"] == pytest.approx(r["total_micros"] / r["delivered_messages"] / 1e6, abs=1e-6)
    appts: dict[str, Counter[str]] = defaultdict(Counter)
    for r in dicts(queries.appointments(q, start, end)):  # type: ignore[arg-type]
        appts[r["organization_id"]]["appointment.confirmed"] += r["confirmed"]
        appts[r["organization_id"]]["appointment.cancel_requested"] += r["cancel_requested"]
        assert r["answered"] == r["confirmed"] + r["cancel_requested"] + r["reschedule_requested"]
        assert r["confirmation_rate"] == pytest.approx(r["confirmed"] / r["answered"], abs=1e-4)
        assert r["cancellation_rate"] == pytest.approx(r["cancel_requested"] / r["answered"], abs=1e-4)
    assert {k: dict(v) for k, v in appts.items()} == {k: dict(v) for k, v in sc.appointments.items()}
    staff = q.query("SELECT organization_id, reason, count() FROM events FINAL "
                    "WHERE event_type = 'staff.attention_needed' GROUP BY organization_id, reason").rows
    assert {(o, reason): n for o, reason, n in staff} == {
        (o, reason): n for o, c in sc.staff.items() for reason, n in c.items()}


def check_tables(q: Queryable, sc: Scenario) -> None:
    def one(sql: str) -> Any:
        return q.query(sql).rows[0][0]
    assert one("SELECT count() FROM message_state FINAL") == sc.messages
    assert one("SELECT uniqExact(message_id) FROM events WHERE event_type = 'request.accepted'") == sc.messages
    assert one("SELECT count() FROM events FINAL WHERE event_type = 'delivery.outcome'") == len(
        sc.of_type("DeliveryOutcome"))
    assert one("SELECT count() FROM audit_log FINAL WHERE action != 'analytics.sql'") >= len(
        sc.of_type("AuditRecord")) + len(sc.of_type("ConsentChange"))
    assert one("SELECT count() FROM channel_health FINAL") == 2
    conv = dicts(q.query("SELECT organization_id, sum(inbound_count) AS inbound, sum(outbound_count) AS outbound, "
                         "sum(opted_out) AS opted_out FROM conversation_summary GROUP BY organization_id"))
    assert {r["organization_id"]: (r["inbound"], r["outbound"], r["opted_out"]) for r in conv} == {
        org: (sc.inbound[org], len(sc.messaged[org]), len(sc.opted_out[org])) for org in ORGS}


def check_figures(q: Queryable, sc: Scenario) -> None:
    check_rates(q, sc)
    check_latency(q, sc)
    check_paths(q, sc)
    check_consent_cost_appointments(q, sc)
    check_tables(q, sc)
