"""The dashboard's figures agree exactly with the SQL cookbook's queries (docs/analytics.md) on the same data,
and `GET /v1/dashboard` serves them to a reader of the organization only."""
from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from access.keys import KeyStore
from analytics import dashboard
from analytics.access import AccessPolicy
from analytics.exceptions import QueryRejected
from analytics.http import create_app
from analytics.migrations import migrate
from analytics.store import QueryLimits, Readers, Result, open_client, open_readers
from schemas.settings import ClickHouseSettings
from tests.analytics import figures
from tests.analytics.scenario import Scenario, build

DOC = Path(__file__).resolve().parents[2] / "docs" / "analytics.md"
# each dashboard section: the text that picks its cookbook statement out of the document
COOKBOOK = {
    "rates": "AS failure_rate\nFROM outcomes_hourly",
    "latency": "FROM latency_hourly",
    "fallback": "AS fallback_rate",
    "hops": "argMin(hop, occurred_at)",
    "opt_outs": "AS opt_out_rate",
    "blocked": "status = 'blocked'",
    "cost": "AS cost_per_delivered",
    "appointments": "AS confirmation_rate",
    "staff": "event_type = 'staff.attention_needed'",
}
ORGS = ("demo-clinic", "other-clinic")


def cookbook() -> dict[str, str]:
    statements = [s for block in re.findall(r"```sql\n(.*?)```", DOC.read_text(), re.S) for s in block.split(";")]
    found = {}
    for section, marker in COOKBOOK.items():
        matching = [s for s in statements if marker in s]
        assert len(matching) == 1, (section, len(matching))
        found[section] = matching[0]
    return found


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Readers, Scenario]]:
    ch = ClickHouseSettings(path=str(tmp_path_factory.mktemp("dashboard") / "chdb"))
    writer = open_client(ch)
    migrate(writer, ch)
    sc = build(messages=60, orgs=ORGS)
    figures.load(writer, sc)
    readers = open_readers(ch, QueryLimits(10, 5000))
    yield readers, sc
    readers.close()
    writer.close()


def _norm(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, list | tuple):
        return tuple(_norm(v) for v in value)
    if hasattr(value, "isoformat"):
        return value.isoformat()[:10]
    return value


def rows_of(result: Result, columns: list[str]) -> list[tuple[Any, ...]]:
    index = [result.columns.index(c) for c in columns]
    return sorted((tuple(_norm(row[i]) for i in index) for row in result.rows), key=repr)


def test_every_section_agrees_with_the_cookbook(loaded):
    readers, sc = loaded
    start, end = sc.start - timedelta(days=4), sc.start + timedelta(days=1)  # longer than 3 days: per day
    grain, ours = dashboard.run(readers.report, start, end, "", "UTC")
    assert grain == "day"
    params = {"start": start.strftime("%Y-%m-%d %H:%M:%S"), "end": end.strftime("%Y-%m-%d %H:%M:%S")}
    for section, statement in cookbook().items():
        theirs = readers.sql.query(statement, params)
        assert theirs.rows, section
        if section == "rates":  # the cookbook's rows also split by template: add them up
            summed: dict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
            for row in rows_of(theirs, ["day", "organization_id", "channel", "provider", "attempted", "delivered",
                                        "read", "failed_final"]):
                for i, v in enumerate(row[4:]):
                    summed[row[:4]][i] += v
            expected = sorted(((*k, *v) for k, v in summed.items() if v[0]), key=repr)
            got = rows_of(ours[section], ["period", "organization_id", "channel", "provider", "attempted",
                                          "delivered", "read", "failed_final"])
            assert got == expected
            for row in figures.dicts(ours[section]):
                assert row["delivery_rate"] == round(row["delivered"] / row["attempted"], 4)
            continue
        common = [c for c in theirs.columns if c in ours[section].columns]
        assert len(common) == len(theirs.columns), (section, theirs.columns)
        assert rows_of(ours[section], common) == rows_of(theirs, common), section


def test_a_clinics_zone_moves_the_days(loaded):
    readers, sc = loaded
    start, end = sc.start - timedelta(days=4), sc.start + timedelta(days=1)
    _, utc = dashboard.run(readers.report, start, end, "demo-clinic", "UTC")
    _, tokyo = dashboard.run(readers.report, start, end, "demo-clinic", "Asia/Tokyo")
    total = [sum(r["attempted"] for r in figures.dicts(res["rates"])) for res in (utc, tokyo)]
    assert total[0] == total[1] > 0
    assert {r["organization_id"] for r in figures.dicts(utc["rates"])} == {"demo-clinic"}


@pytest.mark.parametrize(("tz", "hours", "message"), [
    ("Mars/Olympus", 24, "not a known time zone"),
    ("UTC", 0, "the range is empty"),
    ("UTC", 24 * 401, "longer than 400 days"),
], ids=["unknown-zone", "empty-range", "range-too-long"])
def test_refusals(loaded, tz: str, hours: int, message: str):
    readers, sc = loaded
    with pytest.raises(QueryRejected, match=message):
        dashboard.run(readers.report, sc.start, sc.start + timedelta(hours=hours), "", tz)


@pytest.mark.parametrize(("hours", "grain"), [(1, "hour"), (72, "hour"), (73, "day")],
                         ids=["an-hour", "three-days", "longer"])
def test_grain(loaded, hours: int, grain: str):
    _, sc = loaded
    assert dashboard.grain_of(sc.start, sc.start + timedelta(hours=hours)) == grain


def test_the_endpoint_serves_a_reader_its_own_organization(loaded):
    readers, sc = loaded
    app = create_app(readers, AccessPolicy(KeyStore.demo(), frozenset({"demo-clinic"})), lambda: {"status": "ok"})
    client = TestClient(app)
    start, end = figures.window(sc)
    query = {"from": start.isoformat(), "to": end.isoformat(), "tz": "America/Mexico_City"}
    other = {"Authorization": "Bearer other-clinic-analyst-key"}
    r = client.get("/v1/dashboard", params=query, headers=other)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["organization_id"] == "other-clinic" and body["grain"] == "hour"
    assert set(body["sections"]) == set(dashboard.SECTIONS)
    assert {row[1] for row in body["sections"]["rates"]["rows"]} == {"other-clinic"}
    assert client.get("/v1/dashboard", params=query | {"org": "demo-clinic"}, headers=other).status_code == 403
    operator = {"Authorization": "Bearer demo-clinic-analyst-key"}
    every = client.get("/v1/dashboard", params=query, headers=operator).json()
    assert {row[1] for row in every["sections"]["rates"]["rows"]} == set(ORGS)
    assert client.get("/v1/dashboard", params=query | {"tz": "Nowhere"}, headers=operator).status_code == 400


def test_the_cost_section_prices_twilio_as_reported_and_meta_from_the_rate_card(loaded):
    readers, sc = loaded
    start, end = figures.window(sc)
    _, sections = dashboard.run(readers.report, start, end, "", "UTC")
    rows = {(r["organization_id"], r["provider"]): r for r in figures.dicts(sections["cost"])}
    for org in ORGS:
        twilio, meta = rows[(org, "twilio")], rows[(org, "meta")]
        # Twilio's reported price, billed on failed attempts too: spend over the delivered ones
        assert (twilio["currency"], twilio["total_micros"]) == ("USD", 7900 * twilio["priced_messages"])
        assert twilio["cost_per_delivered"] == round(twilio["total_micros"] / twilio["delivered_messages"] / 1e6, 6)
        # Meta's webhooks carry a category but no amount: a delivered utility message at the card's rate,
        # one Meta said is not billable at 0 (the scenario's every fifth)
        billed = meta["total_micros"] // 4000
        assert meta["total_micros"] == 4000 * billed and 0 < billed < meta["delivered_messages"]
        assert meta["priced_messages"] == meta["delivered_messages"]
        assert (meta["currency"], meta["cost_per_delivered"]) == (
            "USD", round(meta["total_micros"] / meta["delivered_messages"] / 1e6, 6))
