"""The reporting dashboard's queries: the SQL cookbook's (docs/analytics.md), with the organization filter and,
where a figure is over time, the clinic's time zone. One module, so the console's charts and the cookbook
agree exactly on the same range (tests/analytics/test_dashboard.py runs both and compares).

Every query takes `{start}`/`{end}` (a half-open UTC range), `{org}` ('' = every organization) and `{tz}`
(an IANA zone name; the periods of the figures over time are its days or hours). The rollups are
hour-granular, so in a zone whose offset is not whole hours a day's edge falls on the UTC hour.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from analytics import queries as q
from analytics import tables as t
from analytics.exceptions import QueryRejected
from analytics.store import Result, Store

MAX_RANGE = timedelta(days=400)
HOURLY_UP_TO = timedelta(days=3)  # a range up to this long is shown per hour, a longer one per day
PERIODS = {
    "hour": "formatDateTime(toTimeZone(hour, {tz:String}), '%Y-%m-%d %H:00')",
    "day": "formatDateTime(toStartOfDay(hour, {tz:String}), '%Y-%m-%d')",
}

# The cookbook's "Delivery, read and failure rate by channel, provider, template and organization, per day",
# per period of the clinic's zone and without the template dimension.
RATES = """
SELECT {period} AS period, organization_id, channel, provider,
    uniqExactMergeIf(message_ids, status IN {attempted}) AS attempted,
    uniqExactMergeIf(message_ids, status IN {delivered}) AS delivered,
    uniqExactMergeIf(message_ids, status = 'read') AS read,
    uniqExactMergeIf(message_ids, status IN {failed} AND is_final = 1) AS failed_final,
    if(attempted = 0, NULL, round(delivered / attempted, 4)) AS delivery_rate,
    if(attempted = 0, NULL, round(read / attempted, 4)) AS read_rate,
    if(attempted = 0, NULL, round(failed_final / attempted, 4)) AS failure_rate
FROM outcomes_hourly
WHERE hour >= toStartOfHour({{start:DateTime64(3, 'UTC')}}) AND hour < {{end:DateTime64(3, 'UTC')}} AND {org}
GROUP BY period, organization_id, channel, provider
HAVING attempted > 0
ORDER BY period, organization_id, channel, provider"""

# The cookbook's latency percentiles accepted → sent / delivered / read, in ms.
LATENCY = f"""
SELECT organization_id, channel, stage, quantilesMerge(0.5, 0.9, 0.99)(latency_ms) AS p50_p90_p99,
    round(p50_p90_p99[1]) AS p50_ms, round(p50_p90_p99[2]) AS p90_ms, round(p50_p90_p99[3]) AS p99_ms
FROM latency_hourly
WHERE hour >= toStartOfHour({{start:DateTime64(3, 'UTC')}}) AND hour < {{end:DateTime64(3, 'UTC')}} AND {q._ORG}
GROUP BY organization_id, channel, stage
ORDER BY organization_id, channel, stage"""  # noqa: S608 (constants only)

# The cookbook's appointment confirmation and cancellation rates, per day of the clinic's zone.
APPOINTMENTS = q.APPOINTMENTS_SQL.replace("toDate(occurred_at)", "toDate(occurred_at, {tz:String})")

# The cookbook's "What staff were asked to handle, by reason".
STAFF = f"""
SELECT organization_id, reason, count() AS notifications, uniqExact(recipient_id) AS patients
FROM events FINAL
WHERE event_type = '{t.STAFF_ATTENTION}' AND {q._RANGE} AND {q._ORG}
GROUP BY organization_id, reason
ORDER BY organization_id, notifications DESC, reason"""  # noqa: S608 (constants only)

# section -> its SQL; the rest are queries.py's, themselves the cookbook's with the organization filter
SECTIONS: Mapping[str, str] = {
    "rates": "",  # per grain: rates_sql()
    "latency": LATENCY,
    "fallback": q.FALLBACK_SQL,
    "hops": q.SUCCESSFUL_HOP_SQL,
    "appointments": APPOINTMENTS,
    "opt_outs": q.OPT_OUT_SQL,
    "blocked": q.BLOCKED_SQL,
    "staff": STAFF,
    "cost": q.COST_SQL,
}


def rates_sql(grain: str) -> str:
    if grain not in PERIODS:
        raise QueryRejected("grain must be hour or day")
    return RATES.format(period=PERIODS[grain], attempted=q.ATTEMPTED, delivered=q.DELIVERED, failed=q.FAILED,
                        org=q._ORG)


def grain_of(start: datetime, end: datetime) -> str:
    return "hour" if end - start <= HOURLY_UP_TO else "day"


def zone(name: str) -> str:
    """An IANA time zone name, or QueryRejected naming the field."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise QueryRejected(f"`tz` is not a known time zone: {name[:64]!r}") from None
    return name


def params(start: datetime, end: datetime, org: str, tz: str) -> dict[str, Any]:
    if end <= start:
        raise QueryRejected("the range is empty: `to` must be after `from`")
    if end - start > MAX_RANGE:
        raise QueryRejected(f"the range is longer than {MAX_RANGE.days} days")
    return {"start": start, "end": end, "org": org, "tz": zone(tz)}


def run(store: Store, start: datetime, end: datetime, org: str, tz: str) -> tuple[str, dict[str, Result]]:
    """Every section's figures for the range, organization ('' = all) and zone, and the grain of the rates."""
    bound = params(start, end, org, tz)
    grain = grain_of(start, end)
    results = {}
    for name, sql in SECTIONS.items():
        results[name] = store.query(sql or rates_sql(grain), bound)
    return grain, results
