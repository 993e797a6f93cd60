"""The metric queries' inputs, without ClickHouse: the range, grain and dimensions are checked before any
SQL runs; the organization and the range travel as bound parameters, never spliced into the text."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from analytics import queries
from analytics.exceptions import QueryRejected

START = datetime(2026, 3, 1, tzinfo=UTC)
END = datetime(2026, 3, 2, tzinfo=UTC)
ORG = "clinic'; DROP TABLE events; --"


class Recorder:
    """A Store that keeps what it was asked."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, dict[str, Any]]] = []

    def query(self, sql: str, parameters: dict[str, Any] | None = None) -> str:
        self.asked.append((sql, dict(parameters or {})))
        return "result"


RANGED = [queries.rates, queries.latency, queries.latency_exact, queries.fallback, queries.successful_hop,
          queries.opt_outs, queries.blocked, queries.cost, queries.appointments, queries.priorities,
          queries.delivery_report]


@pytest.mark.parametrize("query", RANGED, ids=[q.__name__ for q in RANGED])
def test_every_query_binds_the_range_and_organization(query: Any) -> None:
    store = Recorder()
    assert query(store, START, END, ORG) == "result"
    [(sql, params)] = store.asked
    assert params == {"start": START, "end": END, "org": ORG}
    assert ORG not in sql and "{org:String}" in sql


@pytest.mark.parametrize("query", RANGED, ids=[q.__name__ for q in RANGED])
@pytest.mark.parametrize(("start", "end"), [
    pytest.param(END, START, id="reversed"),
    pytest.param(START, START, id="empty"),
])
def test_an_empty_range_is_rejected_before_any_sql(query: Any, start: datetime, end: datetime) -> None:
    store = Recorder()
    with pytest.raises(QueryRejected, match="the range is empty"):
        query(store, start, end)
    assert store.asked == []


@pytest.mark.parametrize(("grain", "by", "error"), [
    pytest.param("day", ("organization_id", "channel"), None, id="default"),
    pytest.param("hour", ("provider", "template"), None, id="hourly-by-provider-and-template"),
    pytest.param("week", ("channel",), "grain must be hour or day", id="unknown-grain"),
    pytest.param("day", (), "group by any of", id="no-dimension"),
    pytest.param("day", ("channel", "recipient_id"), "group by any of", id="dimension-not-allowed"),
    pytest.param("day", ("channel; DROP TABLE events",), "group by any of", id="sql-in-a-dimension"),
])
@pytest.mark.parametrize("query", [queries.rates, queries.latency], ids=["rates", "latency"])
def test_grain_and_dimensions_are_whitelisted(query: Any, grain: str, by: tuple[str, ...], error: str | None) -> None:
    store = Recorder()
    if error is None:
        query(store, START, END, grain=grain, by=by)
        [(sql, _)] = store.asked
        assert all(d in sql for d in by) and queries.GRAINS[grain] in sql
    else:
        with pytest.raises(QueryRejected, match=error):
            query(store, START, END, grain=grain, by=by)
        assert store.asked == []
