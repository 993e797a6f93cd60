"""The metrics' pure parts: hash buckets for addresses and accounts, the once-per-window patient count,
the stream worker's delivery outcome metrics, and the analytics service's /metrics."""
from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from prometheus_client import generate_latest
from starlette.testclient import TestClient

from access.keys import KeyStore
from analytics.access import AccessPolicy
from analytics.http import create_app
from analytics.metrics import AnalyticsMetrics
from analytics.migrations import migrate
from analytics.store import QueryLimits, Readers, open_client, open_readers
from gateway.metrics import BUCKETS, FirstSeen, GatewayMetrics, bucket
from schemas.settings import ClickHouseSettings
from streams.metrics import Metrics

ANALYST = {"Authorization": "Bearer demo-clinic-analyst-key"}


def sample(text: str, name: str, **labels: str) -> float | None:
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        got = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
        if all(got.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


@pytest.mark.parametrize("value", ["127.0.0.1", "2001:db8::1", "", "clinic-42|alice"],
                         ids=["ipv4", "ipv6", "unknown", "account"])
def test_a_bucket_is_stable_bounded_and_hides_the_value(value: str) -> None:
    b = bucket(value)
    assert b == bucket(value) and 0 <= int(b) < BUCKETS and (not value or value not in b)


@pytest.mark.parametrize(("steps", "expected"), [
    ([("a", 0.0)], [True]),
    ([("a", 0.0), ("a", 10.0)], [True, False]),
    ([("a", 0.0), ("a", 100.0)], [True, True]),
    ([("a", 0.0), ("b", 1.0), ("a", 2.0)], [True, True, False]),
], ids=["first", "again_within_the_window", "again_after_the_window", "two_keys"])
def test_first_seen_counts_a_key_once_per_window(steps: list[tuple[str, float]], expected: list[bool]) -> None:
    seen = FirstSeen(window_s=60.0)
    assert [seen.first((k,), t) for k, t in steps] == expected


def test_first_seen_forgets_the_oldest_beyond_its_capacity() -> None:
    seen = FirstSeen(window_s=60.0, capacity=2)
    assert [seen.first((k,), 0.0) for k in "abc"] == [True, True, True]
    assert seen.first(("a",), 1.0)  # forgotten to make room for c


def test_gateway_breach_metrics_carry_buckets_never_addresses_or_accounts() -> None:
    m = GatewayMetrics()
    for _ in range(3):
        m.refused("bad_signature", "203.0.113.9")
        m.signin_failed("bad_credentials", "203.0.113.9")
    m.phi_viewed("clinic-42", "alice", "p1", now=0.0)
    m.phi_viewed("clinic-42", "alice", "p1", now=1.0)
    m.phi_viewed("clinic-42", "alice", "p2", now=2.0)
    text = generate_latest(m.registry).decode()
    assert "203.0.113.9" not in text and "alice" not in text and "p1" not in text
    src, who = bucket("203.0.113.9"), bucket("clinic-42|alice")
    assert sample(text, "carelay_gateway_refusals_by_source_total", reason="bad_signature", source_bucket=src) == 3
    assert sample(text, "carelay_gateway_refusals_total", reason="bad_signature") == 3
    assert sample(text, "carelay_console_signin_failures_total", source_bucket=src) == 3
    assert sample(text, "carelay_console_phi_views_total", account_bucket=who) == 3
    assert sample(text, "carelay_console_phi_patients_viewed_total", account_bucket=who) == 2


@pytest.mark.parametrize(("status", "final", "ended", "timed"), [
    ("sent", False, None, False),
    ("delivered", True, "delivered", True),
    ("read", True, "delivered", False),
    ("failed", False, None, False),
    ("failed", True, "failed", False),
    ("blocked", True, "blocked", False),
], ids=["progress", "delivered_final", "read_final", "hop_failed_with_fallback", "failed_final", "blocked"])
def test_delivery_outcomes(status: str, final: bool, ended: str | None, timed: bool) -> None:
    m = Metrics()
    m.outcome("WHATSAPP", "meta", status, final=final, reached=status in ("delivered", "read"),
              accepted_at_ms=1_000, at_ms=4_000)
    text = generate_latest(m.registry).decode()
    assert sample(text, "carelay_streams_delivery_outcomes_total", channel="WHATSAPP", provider="meta",
                  status=status) == 1
    assert sample(text, "carelay_streams_messages_ended_total", result=ended or "-") == (1 if ended else None)
    count = sample(text, "carelay_streams_accept_to_delivered_seconds_count", channel="WHATSAPP")
    assert count == (1 if timed else None)
    if timed:
        assert sample(text, "carelay_streams_accept_to_delivered_seconds_sum", channel="WHATSAPP") == 3.0


@pytest.fixture(scope="module")
def readers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Readers]:
    ch = ClickHouseSettings(path=str(tmp_path_factory.mktemp("metrics") / "chdb"))
    writer = open_client(ch)
    migrate(writer, ch)
    opened = open_readers(ch, QueryLimits(max_execution_time_s=5, max_result_rows=50))
    yield opened
    opened.close()
    writer.close()


def test_analytics_serves_metrics_with_each_query_rows(readers: Readers) -> None:
    metrics = AnalyticsMetrics(lambda: {"consumed": 5, "rows_inserted": 4, "paused": False})
    app = create_app(readers, AccessPolicy(KeyStore.demo(), frozenset({"demo-clinic"})), lambda: {"status": "ok"},
                     metrics=metrics)
    client = TestClient(app)
    query = {"sql": "SELECT number FROM system.numbers LIMIT 7"}
    assert client.post("/v1/sql", json=query, headers=ANALYST).status_code == 200
    assert client.post("/v1/sql", json=query).status_code == 401
    text = client.get("/metrics").text
    assert sample(text, "carelay_analytics_query_rows_bucket", endpoint="analytics.sql", le="10.0") == 1
    assert sample(text, "carelay_analytics_query_rows_bucket", endpoint="analytics.sql", le="1.0") == 0
    assert sample(text, "carelay_analytics_queries_total", endpoint="analytics.sql", outcome="allowed") == 1
    assert sample(text, "carelay_analytics_queries_total", endpoint="analytics.sql", outcome="denied") == 1
    assert sample(text, "carelay_analytics_sink_rows_inserted_total") == 4
    assert sample(text, "carelay_analytics_sink_paused") == 0
