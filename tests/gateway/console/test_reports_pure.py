"""The reporting dashboard's pure pieces: the form, the range in the clinic's zone, charts, tables, CSV."""
from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from gateway.console import report_charts as charts
from gateway.console import reports
from gateway.console.i18n import Words

TODAY = date(2026, 3, 10)
WEEK = (date(2026, 3, 4), TODAY, "clinic-42", "America/Mexico_City")  # the default choice


def parse(args: dict[str, str], operator: bool = False) -> tuple[reports.Choice, list[str]]:
    choice, errors = reports.parse(args, today=TODAY, own_org="clinic-42", operator=operator,
                                   default_tz="America/Mexico_City")
    return choice, [f"{e.field}:{e.key}" for e in errors]


@pytest.mark.parametrize(("args", "operator", "expected", "errors"), [
    ({}, False, WEEK, []),
    ({"from": "2026-03-01", "to": "2026-03-02", "tz": "UTC"}, False,
     (date(2026, 3, 1), date(2026, 3, 2), "clinic-42", "UTC"), []),
    ({"to": "2026-02-10"}, False, (date(2026, 2, 4), date(2026, 2, 10), "clinic-42", "America/Mexico_City"), []),
    ({"org": "other"}, False, WEEK, []),
    ({"org": "other"}, True, (date(2026, 3, 4), TODAY, "other", "America/Mexico_City"), []),
    ({"org": ""}, True, (date(2026, 3, 4), TODAY, "", "America/Mexico_City"), []),
    ({"from": "2026-13-01"}, False, WEEK,
     ["from:rep_error_date"]),
    ({"from": "2026-03-05", "to": "2026-03-01"}, False, WEEK,
     ["to:rep_error_order"]),
    ({"from": "2024-01-01", "to": "2026-01-01"}, False,
     WEEK, ["from:rep_error_long"]),
    ({"tz": "Mars/Olympus"}, False, WEEK, ["tz:rep_error_tz"]),
    ({"tz": "../etc/passwd"}, False, WEEK, ["tz:rep_error_tz"]),
], ids=["defaults-last-7-days", "chosen", "week-before-to", "clinic-cannot-pick-org", "operator-picks-org",
        "operator-all", "bad-date", "last-before-first", "too-long", "unknown-zone", "path-as-zone"])
def test_parse(args: dict[str, str], operator: bool, expected: tuple[Any, ...], errors: list[str]):
    choice, found = parse(args, operator)
    assert (choice.first, choice.last, choice.org, choice.tz) == expected
    assert found == errors


@pytest.mark.parametrize(("tz", "start", "end"), [
    ("UTC", datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 3, tzinfo=UTC)),
    ("America/Mexico_City", datetime(2026, 3, 1, 6, tzinfo=UTC), datetime(2026, 3, 3, 6, tzinfo=UTC)),
    ("Asia/Kolkata", datetime(2026, 2, 28, 18, 30, tzinfo=UTC), datetime(2026, 3, 2, 18, 30, tzinfo=UTC)),
], ids=["utc", "mexico", "half-hour-offset"])
def test_days_are_the_clinics(tz: str, start: datetime, end: datetime):
    assert reports.Choice(date(2026, 3, 1), date(2026, 3, 2), "", tz).range_utc() == (start, end)


@pytest.mark.parametrize(("value", "text"), [
    (None, ""), (3, "3"), (0.25, "0.25"), (2.0, "2"), ("WHATSAPP", "WHATSAPP"), ([1.0, 2.5], "1 2.5"),
], ids=["null", "int", "fraction", "whole-float", "text", "list"])
def test_cell(value: Any, text: str):
    assert reports.cell(value) == text


SECTION = {"columns": [{"name": "organization_id", "type": "String"}, {"name": "reason", "type": "String"},
                       {"name": "messages", "type": "UInt64"}],
           "rows": [["c1", "quiet_hours", 3], ["c1", 'a,"quoted"', 1]]}


def test_csv_and_table():
    assert reports.csv_text(SECTION) == 'organization_id,reason,messages\r\nc1,quiet_hours,3\r\nc1,"a,""quoted""",1\r\n'
    table = reports.table_of(SECTION)
    assert table.numeric == (False, False, True)
    assert table.rows == (("c1", "quiet_hours", "3"), ("c1", 'a,"quoted"', "1"))


@pytest.mark.parametrize(("x", "lines", "points"), [
    (["d1"], {"s": {"d1": 0.5}}, ["336.0,114.0"]),
    (["d1", "d2"], {"s": {"d1": 0.0, "d2": 1.0}}, ["48,216.0 624,12.0"]),
    (["d1", "d2", "d3"], {"s": {"d1": 1.0, "d3": None}}, ["48,12.0"]),
    (["d1", "d2"], {"b": {"d1": 1.0}, "a": {"d2": 0.0}}, ["624,216.0", "48,12.0"]),
], ids=["one-point-centred", "zero-to-one", "gaps-skipped", "series-sorted-by-label"])
def test_line_chart_geometry(x: list[str], lines: dict[str, dict[str, float | None]], points: list[str]):
    chart = charts.line_chart("c", "title", x, lines)
    assert [s.points for s in chart.series] == [p.replace("48,", "48.0,").replace("624,", "624.0,") for p in points]


def test_line_chart_labels_and_styles():
    chart = charts.line_chart("c", "t", [f"d{i}" for i in range(30)], {f"s{i}": {"d0": 0.1} for i in range(9)})
    assert len(chart.x_labels) <= charts.MAX_X_LABELS
    assert [label for _, label in chart.y_ticks] == ["0.0 %", "25.0 %", "50.0 %", "75.0 %", "100.0 %"]
    styles = [(s.style.colour, s.style.dash) for s in chart.series]
    assert len(set(styles)) == len(styles)  # no two series look alike
    assert chart.series[0].dots[0][2] == "s0 · d0: 10.0 %"
    assert charts.line_chart("c", "t", ["d"], {}).empty


@pytest.mark.parametrize(("values", "widths", "texts"), [
    ([("a", 2), ("b", 1)], [250.0, 125.0], ["2", "1"]),
    ([("a", 0), ("b", None)], [0.0, 0.0], ["0", ""]),
    ([], [], []),
], ids=["longest-is-largest", "zero-and-null", "empty"])
def test_bar_chart(values: list[tuple[str, float | None]], widths: list[float], texts: list[str]):
    chart = charts.bar_chart("c", "t", values)
    assert [b.width for b in chart.bars] == widths
    assert [b.text for b in chart.bars] == texts
    assert chart.empty is (not values)


def _section(columns: list[str], rows: list[list[Any]]) -> dict[str, Any]:
    return {"columns": [{"name": c, "type": ""} for c in columns], "rows": rows}


PAYLOAD = {"grain": "day", "sections": {
    "rates": _section(["period", "organization_id", "channel", "provider", "attempted", "delivered", "read",
                       "failed_final", "delivery_rate", "read_rate", "failure_rate"],
                      [["2026-03-01", "c1", "SMS", "twilio", 4, 3, 0, 1, 0.75, 0.0, 0.25]]),
    "latency": _section(["organization_id", "channel", "stage", "p50_p90_p99", "p50_ms", "p90_ms", "p99_ms"],
                        [["c1", "SMS", "delivered", [900.0, 1500.0, 2000.0], 900.0, 1500.0, 2000.0]]),
    "fallback": _section(["organization_id", "first_channel", "messages", "fell_back", "fallback_rate"],
                         [["c1", "WHATSAPP", 4, 1, 0.25]]),
    "hops": _section(["organization_id", "hop", "channel", "delivered_messages"], [["c1", 1, "SMS", 1]]),
    "appointments": _section(["organization_id", "day", "confirmed", "cancel_requested", "reschedule_requested",
                              "answered", "confirmation_rate", "cancellation_rate"],
                             [["c1", "2026-03-01", 3, 1, 0, 4, 0.75, 0.25]]),
    "opt_outs": _section(["organization_id", "recipients_messaged", "opted_out", "opt_out_rate"], [["c1", 10, 1, 0.1]]),
    "blocked": _section(["organization_id", "reason", "messages"], [["c1", "quiet_hours", 2]]),
    "staff": _section(["organization_id", "reason", "notifications", "patients"], [["c1", "unclear_reply", 2, 2]]),
    "cost": _section(["organization_id", "channel", "provider", "currency", "priced_messages", "total_micros",
                      "delivered_messages", "cost_per_delivered"],
                     [["c1", "SMS", "twilio", "USD", 2, 15800, 2, 0.0079]]),
}}


@pytest.mark.parametrize(("every_org", "label"), [(False, "SMS · twilio"), (True, "c1 · SMS · twilio")],
                         ids=["one-organization", "every-organization"])
def test_build_sections(every_org: bool, label: str):
    sections = reports.build(PAYLOAD, Words("en"), every_org)
    assert [s.name for s in sections] == list(reports.SECTIONS)
    rates = sections[0]
    assert [c.id for c in rates.charts] == ["chart-delivery_rate", "chart-read_rate", "chart-failure_rate"]
    assert rates.charts[0].series[0].label == label  # type: ignore[union-attr]
    latency = sections[1].charts[0]
    assert [b.text for b in latency.bars] == ["900 ms", "1.5 s", "2.0 s"]  # type: ignore[union-attr]
    hops = sections[3].charts[0]
    assert hops.bars[0].label.endswith("attempt 1 · SMS")  # type: ignore[union-attr]
    cost = sections[-1].charts[0]
    assert cost.bars[0].text == "0.0079"  # type: ignore[union-attr]
    assert rates.note == "Of the messages that reached a provider on that channel, per day"
