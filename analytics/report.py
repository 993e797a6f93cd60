"""`carelay report`: the delivery report for a time range, as a text table or CSV, then the patients'
answers to appointment reminders (confirmation and cancellation rates).

It asks the analytics process over HTTP (the embedded store is open in that process only), or, when
CARELAY_CLICKHOUSE_URL names a ClickHouse server, queries the server directly on a read-only session.
"""
from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, TextIO

import httpx

from analytics import queries
from analytics.store import QueryLimits, open_client
from schemas.settings import AnalyticsSettings, Settings


def _when(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date or time: {text!r}") from None
    if len(text) == 10:  # a bare date means that day's midnight, UTC
        value = datetime.combine(date.fromisoformat(text), datetime.min.time())
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="carelay report", description="Delivery report per organization, "
                                "channel and provider for messages accepted in [from, to), then the appointment "
                                "reminders answered there (confirmation and cancellation rates).")
    p.add_argument("--from", dest="start", type=_when, help="start, ISO date or time (default: 24 h ago)")
    p.add_argument("--to", dest="end", type=_when, help="end, exclusive (default: now)")
    p.add_argument("--org", default="", help="one organization (default: all the key may see)")
    p.add_argument("--csv", metavar="PATH", help="also write the rows as CSV to PATH ('-' for stdout only)")
    p.add_argument("--url", help="analytics endpoint (default: CARELAY_ANALYTICS_URL or http://host:port)")
    p.add_argument("--key", help="analyst or auditor API key (default: CARELAY_ANALYTICS_API_KEY, which keeps it "
                   "out of the process list)")
    return p


def _bearer(api_key: str) -> dict[str, str]:
    """The Authorization header, or a one-line exit saying what is wrong with the key."""
    key = api_key.strip()
    if not key:
        raise SystemExit("carelay report: no API key; pass --key or set CARELAY_ANALYTICS_API_KEY "
                         "(an analyst or auditor key)")
    if not key.isascii() or not key.isprintable() or " " in key:
        raise SystemExit("carelay report: the API key must be printable ASCII without spaces")
    return {"Authorization": f"Bearer {key}"}


Table = tuple[list[str], list[list[Any]]]  # column names, rows


def fetch_http(base_url: str, api_key: str, start: datetime, end: datetime, org: str) -> dict[str, Table]:
    params = {"from": start.isoformat(), "to": end.isoformat()} | ({"org": org} if org else {})
    headers = _bearer(api_key)
    try:
        response = httpx.get(f"{base_url}/v1/report", params=params, timeout=60, headers=headers)
    except httpx.InvalidURL:
        raise SystemExit(f"carelay report: not a valid analytics URL: {base_url!r}") from None
    except httpx.HTTPError as exc:
        raise SystemExit(f"carelay report: cannot reach analytics at {base_url} ({type(exc).__name__}); "
                         "is `carelay run` (or the analytics service) running?") from None
    if response.status_code != 200:
        try:
            message = response.json().get("message", response.text)
        except ValueError:
            message = response.text
        raise SystemExit(f"carelay report: {response.status_code} from {base_url}: {message}")
    body = response.json()
    answers = body.get("appointments") or {"columns": [], "rows": []}
    return {"delivery": ([c["name"] for c in body["columns"]], body["rows"]),
            "appointments": ([c["name"] for c in answers["columns"]], answers["rows"])}


def fetch_server(settings: Settings, cfg: AnalyticsSettings, start: datetime, end: datetime, org: str
                 ) -> dict[str, Table]:
    store = open_client(settings.clickhouse, limits=QueryLimits(cfg.query_timeout_s, cfg.max_result_rows))
    try:
        results = {"delivery": queries.delivery_report(store, start, end, org),
                   "appointments": queries.appointments(store, start, end, org)}
    finally:
        store.close()
    return {name: (list(r.columns), [list(row) for row in r.rows]) for name, r in results.items()}


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))
    return str(value)


def render_table(columns: Sequence[str], rows: Sequence[Sequence[Any]], out: TextIO,
                 empty: str = "no messages in this range") -> None:
    if not rows:
        out.write(empty + "\n")
        return
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    numeric = [all(_is_number(r[i]) for r in rows) for i in range(len(columns))]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric, strict=True))

    out.write(line(columns).rstrip() + "\n")
    out.write("  ".join("-" * w for w in widths) + "\n")
    for row in cells:
        out.write(line(row).rstrip() + "\n")


def _is_number(value: Any) -> bool:
    return value is None or (isinstance(value, int | float) and not isinstance(value, bool))


def write_csv(columns: Sequence[str], rows: Sequence[Sequence[Any]], out: TextIO) -> None:
    writer = csv.writer(out)
    writer.writerow(columns)
    writer.writerows([[_cell(v) for v in row] for row in rows])


def main(argv: Sequence[str] | None = None, environ: dict[str, str] | None = None) -> int:
    args = parser().parse_args(argv)
    settings = Settings.from_env(environ)
    cfg = settings.analytics
    end = args.end or datetime.now(UTC)
    start = args.start or end - timedelta(days=1)
    if settings.clickhouse.url:
        tables = fetch_server(settings, cfg, start, end, args.org)
    else:
        tables = fetch_http((args.url or cfg.base_url).rstrip("/"), args.key or str(cfg.api_key), start, end,
                            args.org)
    columns, rows = tables["delivery"]
    if args.csv == "-":  # the CSV holds the delivery rows only
        write_csv(columns, rows, sys.stdout)
        return 0
    print(f"Delivery report {start.isoformat()} → {end.isoformat()}" + (f" for {args.org}" if args.org else ""))
    render_table(columns, rows, sys.stdout)
    print("\nAppointment reminders answered (confirmation_rate, cancellation_rate = share of answers)")
    render_table(*tables["appointments"], sys.stdout, empty="no answers in this range")
    if args.csv:
        with open(args.csv, "w", newline="", encoding="utf-8") as fh:
            write_csv(columns, rows, fh)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
