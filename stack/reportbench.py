"""`python -m stack.reportbench`: how long the console's reporting dashboard takes on the embedded engine
with a million lifecycle events. Prints figures; not a test.

It builds a store of its own (a temporary directory, the real schema), writes N synthetic lifecycle events
through the real materialized views (`INSERT … SELECT` from `numbers(N)`: eight events per message over
30 days, 20 organizations, WhatsApp and SMS, prices, blocks, answers, staff notices), then times what a
page load does: `analytics.dashboard.run` (every section's SQL, on a read-only session with the service's
limits) for 30 days of every organization and of one, the same through `GET /v1/dashboard`, and the
console's part (charts, tables, the template) on that answer. Each figure is the median of --repeat runs
after a warm-up run.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from access.keys import KeyStore
from analytics import dashboard
from analytics.access import AccessPolicy
from analytics.http import create_app
from analytics.migrations import migrate
from analytics.store import QueryLimits, Store, open_client, open_readers
from schemas.settings import ClickHouseSettings

DAYS = 30
ORGS = 20
PER_MESSAGE = 8

# One message's eight events, by k = number % 8: accepted, attempt, provider sent, outcome sent, outcome
# delivered (or blocked, one in 25), provider delivered with a price, outcome read (or failed for good), and
# one care event (a consent change, an answer to a reminder or a staff notice).
FILL = """
INSERT INTO events (event_id, event_type, occurred_at, message_id, attempt_id, organization_id, recipient_id,
    channel, provider, provider_message_id, status, template, priority, hop, is_final, reason, accepted_at,
    price_micros, price_currency, appointment_id)
SELECT toString(number) AS event_id,
    multiIf(k = 0, 'request.accepted', k = 1, 'dispatch.attempt', k IN (2, 5), 'provider.status',
            k = 7, ['consent.change', 'appointment.confirmed', 'appointment.cancel_requested',
                    'staff.attention_needed'][m % 4 + 1], 'delivery.outcome') AS event_type,
    accepted + toIntervalMillisecond(k * 900 + (m % 7) * 300) AS occurred_at,
    toString(m) AS message_id, concat(toString(m), ':0') AS attempt_id, concat('clinic-', toString(m % {orgs})),
    concat('r', toString(m % 50000)), if(m % 2 = 0, 'WHATSAPP', 'SMS'), if(m % 2 = 0, 'meta', 'twilio'),
    concat('p', toString(m)),
    multiIf(k = 2, 'sent', k = 3, 'sent', k = 4, if(m % 25 = 0, 'blocked', 'delivered'), k = 5, 'delivered',
            k = 6, if(m % 10 = 0, 'failed', 'read'), k = 7 AND m % 4 = 0, 'opted_out', '') AS status,
    'appointment_reminder', 'normal', 0, toUInt8(k = 6), if(k = 4 AND m % 25 = 0, 'quiet_hours',
        if(k = 7 AND m % 4 = 3, 'unclear_reply', '')),
    if(k IN (3, 4, 6), accepted, NULL), if(k = 5, 7900, NULL), if(k = 5, 'USD', ''),
    if(k = 7, concat('a', toString(m)), '')
FROM (SELECT number, intDiv(number, {per}) AS m, number % {per} AS k,
          toDateTime64({{start:DateTime64(3, 'UTC')}}, 3, 'UTC') + toIntervalSecond(intDiv(m * {span}, {messages}))
              AS accepted
      FROM numbers({events}))"""


def median_ms(fn: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """Median wall and CPU time (this process, every thread: the embedded engine runs here) of `repeat` calls
    after one warm-up call (imports, template compilation, caches). On a busy machine wall time waits for
    the CPU; CPU time is what the page costs."""
    fn()
    wall, cpu = [], []
    for _ in range(repeat):
        started, used = time.perf_counter(), time.process_time()
        fn()
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - used) * 1000)
    return round(statistics.median(wall), 1), round(statistics.median(cpu), 1)


def section_query(store: Store, sql: str, bound: dict[str, Any]) -> Callable[[], Any]:
    return lambda: store.query(sql, bound)


def render_console(payload: dict[str, Any]) -> str:
    """The console's share of a page load: sections, charts and tables, and the template."""
    from gateway.console import i18n, reports
    from gateway.console.context import TEMPLATES

    words = i18n.Words("en")
    sections = reports.build(payload, words, every_org=True)
    choice = reports.Choice(datetime.now(UTC).date() - timedelta(days=DAYS - 1), datetime.now(UTC).date(), "", "UTC")
    return TEMPLATES.env.get_template("reports.html").render(
        t=words, lang="en", languages=i18n.LANGUAGE_NAMES, viewer=None, path="/console/reports", idle_minutes=15,
        errors=[], choice=choice, raw=choice.query(), sections=sections, operator=True, took_ms=0,
        grain=payload["grain"], query=choice.query())


def run(events: int, repeat: int, path: Path) -> dict[str, Any]:
    ch = ClickHouseSettings(path=str(path))
    writer = open_client(ch)
    migrate(writer, ch)
    end = datetime.now(UTC).replace(microsecond=0)
    start = end - timedelta(days=DAYS)
    messages = max(1, events // PER_MESSAGE)
    began = time.perf_counter()
    writer.command(FILL.format(orgs=ORGS, per=PER_MESSAGE, span=DAYS * 86400, messages=messages, events=events),
                   {"start": start})
    fill_s = time.perf_counter() - began
    stored = int(writer.command("SELECT count() FROM events"))
    readers = open_readers(ch, QueryLimits(30, 10_000))
    try:
        every = median_ms(lambda: dashboard.run(readers.report, start, end, "", "UTC"), repeat)
        one = median_ms(lambda: dashboard.run(readers.report, start, end, "clinic-3", "America/Mexico_City"), repeat)
        app = create_app(readers, AccessPolicy(KeyStore.demo(), frozenset({"demo-clinic"})), lambda: {"status": "ok"})
        client = TestClient(app)
        query = {"from": start.isoformat(), "to": end.isoformat(), "tz": "UTC"}
        headers = {"Authorization": "Bearer demo-clinic-analyst-key"}
        payload = client.get("/v1/dashboard", params=query, headers=headers).json()
        http = median_ms(lambda: client.get("/v1/dashboard", params=query, headers=headers).raise_for_status(),
                         repeat)
        console = median_ms(lambda: render_console(payload), repeat)
        bound = dashboard.params(start, end, "", "UTC")
        sections = {name: median_ms(section_query(readers.report, sql or dashboard.rates_sql("day"), bound), repeat)
                    for name, sql in dashboard.SECTIONS.items()}
    finally:
        readers.close()
        writer.close()
    page = (http[0] + console[0], http[1] + console[1])
    return {"events": stored, "fill_s": round(fill_s, 1), "dashboard_all": every, "dashboard_one_org": one,
            "http_all": http, "console_render": console, "page_all": page, "sections": sections}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stack.reportbench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000, help="lifecycle events to store (default 1,000,000)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per figure; the median is printed")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="carelay-reportbench-") as tmp:
        figures = run(args.events, args.repeat, Path(tmp) / "chdb")
    print(f"reporting dashboard on the embedded engine, {figures['events']:,} lifecycle events over {DAYS} days, "
          f"{ORGS} organizations (stored in {figures['fill_s']} s); medians of {args.repeat}:")
    rows = [("every section, every organization (analytics.dashboard.run)", figures["dashboard_all"]),
            ("every section, one organization, its zone", figures["dashboard_one_org"]),
            ("GET /v1/dashboard, every organization", figures["http_all"]),
            ("the console's charts, tables, template", figures["console_render"]),
            ("page load (the two above; target <= 1000 ms)", figures["page_all"]),
            *((f"  section {name}, every organization", ms) for name, ms in figures["sections"].items())]
    print(f"  {'':<60} {'wall ms':>9} {'CPU ms':>9}")
    for label, (wall, cpu) in rows:
        print(f"  {label:<60} {wall:9.1f} {cpu:9.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
