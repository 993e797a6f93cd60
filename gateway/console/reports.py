"""The reporting dashboard's pure pieces: the form (days, organization, time zone), and each section's
charts, data table and CSV from the analytics service's answer (`GET /v1/dashboard`, analytics.dashboard).

No PHI reaches this page: the analytics tables hold pseudonyms and counts, and the dashboard's queries
return organizations, channels, providers, reasons and figures only.
"""
from __future__ import annotations

import csv
import dataclasses
import io
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gateway.console.report_charts import BarChart, LineChart, bar_chart, line_chart, percent

MAX_DAYS = 400
DEFAULT_DAYS = 7
SECTIONS = ("rates", "latency", "fallback", "hops", "appointments", "opt_outs", "blocked", "staff", "cost")


@dataclass(frozen=True)
class Choice:
    first: date
    last: date  # included
    org: str  # '' = every organization (the operator only)
    tz: str

    def range_utc(self) -> tuple[datetime, datetime]:
        zone = ZoneInfo(self.tz)
        start = datetime.combine(self.first, time(), zone).astimezone(UTC)
        return start, datetime.combine(self.last + timedelta(days=1), time(), zone).astimezone(UTC)

    def query(self) -> dict[str, str]:
        return {"from": self.first.isoformat(), "to": self.last.isoformat(), "org": self.org, "tz": self.tz}


@dataclass(frozen=True)
class FormError:
    field: str
    key: str
    values: Mapping[str, Any] = dataclasses.field(default_factory=dict)


def _day(text: str | None, default: date) -> date | None:
    if not text:
        return default
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


def parse(args: Mapping[str, str], *, today: date, own_org: str, operator: bool, default_tz: str
          ) -> tuple[Choice, list[FormError]]:
    """The viewer's choice, or the default one with what is wrong (one error per field, naming it)."""
    errors: list[FormError] = []
    tz = (args.get("tz") or default_tz).strip()
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        errors.append(FormError("tz", "rep_error_tz"))
        tz = default_tz
    last = _day(args.get("to"), today)
    first = _day(args.get("from"), (last or today) - timedelta(days=DEFAULT_DAYS - 1))
    if first is None:
        errors.append(FormError("from", "rep_error_date", {"field": "rep_from"}))
    if last is None:
        errors.append(FormError("to", "rep_error_date", {"field": "rep_to"}))
    if first and last and last < first:
        errors.append(FormError("to", "rep_error_order"))
    elif first and last and (last - first).days >= MAX_DAYS:
        errors.append(FormError("from", "rep_error_long", {"days": MAX_DAYS}))
    org = (args.get("org") or "").strip()[:128] if operator else own_org
    if errors:
        return Choice(today - timedelta(days=DEFAULT_DAYS - 1), today, org, tz), errors
    assert first is not None and last is not None
    return Choice(first, last, org, tz), errors


@dataclass(frozen=True)
class Table:
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: tuple[bool, ...]


@dataclass(frozen=True)
class Section:
    name: str
    title: str
    note: str
    charts: tuple[LineChart | BarChart, ...]
    table: Table


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return " ".join(cell(v) for v in value)
    if isinstance(value, float):
        return f"{value:.6f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))
    return str(value)


def table_of(section: Mapping[str, Any]) -> Table:
    columns = tuple(c["name"] for c in section["columns"])
    rows = tuple(tuple(cell(v) for v in row) for row in section["rows"])
    numeric = tuple(all(isinstance(r[i], int | float) or r[i] is None for r in section["rows"])
                    for i in range(len(columns)))
    return Table(columns, rows, numeric)


def csv_text(section: Mapping[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    table = table_of(section)
    writer.writerow(table.columns)
    writer.writerows(table.rows)
    return out.getvalue()


def dicts(section: Mapping[str, Any]) -> list[dict[str, Any]]:
    names = [c["name"] for c in section["columns"]]
    return [dict(zip(names, row, strict=True)) for row in section["rows"]]


def _ms(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value / 1000:.1f} s" if value >= 1000 else f"{value:.0f} ms"


def _rate_lines(rows: list[dict[str, Any]], x: str, keys: Sequence[str], metric: str
                ) -> tuple[list[str], dict[str, dict[str, float | None]]]:
    xs = sorted({str(r[x]) for r in rows})
    lines: dict[str, dict[str, float | None]] = defaultdict(dict)
    for r in rows:
        lines[" · ".join(str(r[k]) for k in keys)][str(r[x])] = r[metric]
    return xs, lines


def build(payload: Mapping[str, Any], t: Callable[..., str], every_org: bool) -> list[Section]:
    """Each section's charts and table, in the page's order; labels in the viewer's language (`t`)."""
    s = payload["sections"]
    org = ("organization_id",) if every_org else ()
    out = []
    rows = dicts(s["rates"])
    charts: list[LineChart | BarChart] = []
    for metric in ("delivery_rate", "read_rate", "failure_rate"):
        xs, lines = _rate_lines(rows, "period", (*org, "channel", "provider"), metric)
        charts.append(line_chart(f"chart-{metric}", t(f"chart_{metric}"), xs, lines))
    out.append(Section("rates", t("sec_rates"), t("sec_rates_note", grain=t(f"grain_{payload['grain']}")),
                       tuple(charts), table_of(s["rates"])))
    lat = [(" · ".join([*(str(r[k]) for k in org), r["channel"], t(f"stage_{r['stage']}"), p]), r[f"{p}_ms"])
           for r in dicts(s["latency"]) for p in ("p50", "p90", "p99")]
    out.append(Section("latency", t("sec_latency"), "", (bar_chart("chart-latency", t("sec_latency"), lat, _ms),),
                       table_of(s["latency"])))
    simple: list[tuple[str, Callable[[dict[str, Any]], str], str, Callable[[float | None], str]]] = [
        ("fallback", lambda r: str(r["first_channel"]), "fallback_rate", percent),
        ("hops", lambda r: t("hop_label", hop=r["hop"], channel=r["channel"]), "delivered_messages", _count),
    ]
    for name, label, metric, fmt in simple:
        bars = [(_prefixed(r, org, label(r)), r[metric]) for r in dicts(s[name])]
        out.append(Section(name, t(f"sec_{name}"), "", (bar_chart(f"chart-{name}", t(f"sec_{name}"), bars, fmt),),
                           table_of(s[name])))
    rows = dicts(s["appointments"])
    charts = []
    for metric in ("confirmation_rate", "cancellation_rate"):
        xs, lines = _rate_lines(rows, "day", ("organization_id",), metric)
        charts.append(line_chart(f"chart-{metric}", t(f"chart_{metric}"), xs, lines))
    out.append(Section("appointments", t("sec_appointments"), "", tuple(charts), table_of(s["appointments"])))
    more: list[tuple[str, Callable[[dict[str, Any]], str], str, Callable[[float | None], str], str]] = [
        ("opt_outs", lambda r: str(r["organization_id"]), "opt_out_rate", percent, ""),
        ("blocked", lambda r: _prefixed(r, org, str(r["reason"] or "?")), "messages", _count, ""),
        ("staff", lambda r: _prefixed(r, org, str(r["reason"] or "?")), "notifications", _count, ""),
        ("cost", lambda r: _prefixed(r, org, f"{r['channel']} · {r['provider']} ({r['currency'] or '?'})"),
         "cost_per_delivered", _money, "sec_cost_note"),
    ]
    for name, label, metric, fmt, note in more:
        bars = [(label(r), r[metric]) for r in dicts(s[name])]
        out.append(Section(name, t(f"sec_{name}"), t(note) if note else "",
                           (bar_chart(f"chart-{name}", t(f"sec_{name}"), bars, fmt),), table_of(s[name])))
    return out


def _prefixed(row: Mapping[str, Any], org: Sequence[str], label: str) -> str:
    return " · ".join([*(str(row[k]) for k in org), label])


def _count(value: float | None) -> str:
    return "" if value is None else f"{value:,.0f}"


def _money(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"
