"""The metric queries, one function each, the same SQL on the embedded engine and on a server.

Counts come from two places, chosen for exactness under replays (a record re-read after a crash):
- the hourly rollups (`outcomes_hourly`, `latency_hourly`) hold uniqExact states of message ids, so a
  replayed outcome adds nothing; their latency quantiles are approximate after a crash (see migrations);
- everything else reads the fact tables and counts distinct ids, or uses FINAL where it counts rows,
  because a materialized view over a ReplacingMergeTree sees every inserted copy before the merge.

Every function takes a half-open UTC range [start, end) and an optional organization ('' = all).
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from analytics import ratecard
from analytics import tables as t
from analytics.exceptions import QueryRejected
from analytics.store import Result, Store

DELIVERED = "('delivered', 'read')"
FAILED = "('failed', 'undelivered', 'expired')"
URGENT_CALL = "urgent_unread"  # DeliveryOutcome.reason of the voice hop that follows an unread urgent notice
ATTEMPTED = "('queued', 'sent', 'delivered', 'read', 'failed', 'undelivered', 'expired')"
DIMENSIONS = ("organization_id", "channel", "provider", "template")
GRAINS = {"hour": "hour", "day": "toStartOfDay(hour)"}

_RANGE = "occurred_at >= {start:DateTime64(3, 'UTC')} AND occurred_at < {end:DateTime64(3, 'UTC')}"
_HOUR_RANGE = "hour >= toStartOfHour({start:DateTime64(3, 'UTC')}) AND hour < {end:DateTime64(3, 'UTC')}"
_ORG = "({org:String} = '' OR organization_id = {org:String})"


def _params(start: datetime, end: datetime, org: str) -> dict[str, Any]:
    if end <= start:
        raise QueryRejected("the range is empty: `to` must be after `from`")
    return {"start": start, "end": end, "org": org}


def _dims(by: Sequence[str]) -> str:
    unknown = [d for d in by if d not in DIMENSIONS]
    if unknown or not by:  # spliced into SQL: only whitelisted names
        raise QueryRejected(f"group by any of {', '.join(DIMENSIONS)}")
    return ", ".join(by)


def _grain(grain: str) -> str:
    if grain not in GRAINS:
        raise QueryRejected("grain must be hour or day")
    return GRAINS[grain]


def rates_sql(grain: str = "day", by: Sequence[str] = ("organization_id", "channel")) -> str:
    dims = _dims(by)
    return f"""
SELECT {_grain(grain)} AS period, {dims},
    uniqExactMerge(message_ids) AS messages,
    uniqExactMergeIf(message_ids, status IN {ATTEMPTED}) AS attempted,
    uniqExactMergeIf(message_ids, status IN {DELIVERED}) AS delivered,
    uniqExactMergeIf(message_ids, status = 'read') AS read,
    uniqExactMergeIf(message_ids, status IN {FAILED}) AS failed,
    uniqExactMergeIf(message_ids, status IN {FAILED} AND is_final = 1) AS failed_final,
    uniqExactMergeIf(message_ids, status = 'blocked') AS blocked,
    if(attempted = 0, NULL, round(delivered / attempted, 4)) AS delivery_rate,
    if(attempted = 0, NULL, round(read / attempted, 4)) AS read_rate,
    if(attempted = 0, NULL, round(failed / attempted, 4)) AS failure_rate
FROM outcomes_hourly
WHERE {_HOUR_RANGE} AND {_ORG}
GROUP BY period, {dims}
ORDER BY period, {dims}"""  # noqa: S608 (constants and whitelisted names only)


def rates(store: Store, start: datetime, end: datetime, org: str = "", *, grain: str = "day",
          by: Sequence[str] = ("organization_id", "channel")) -> Result:
    """Delivery, read and failure rate per hour or day, by any of organization, channel, provider, template.
    Denominator: messages that reached a provider on that channel (`attempted`); `failed` counts
    failed attempts, `failed_final` messages that failed for good."""
    return store.query(rates_sql(grain, by), _params(start, end, org))


def latency_sql(grain: str = "day", by: Sequence[str] = ("organization_id", "channel")) -> str:
    dims = _dims(by)
    return f"""
SELECT {_grain(grain)} AS period, {dims}, stage,
    quantilesMerge(0.5, 0.9, 0.99)(latency_ms) AS q,
    q[1] AS p50_ms, q[2] AS p90_ms, q[3] AS p99_ms
FROM latency_hourly
WHERE {_HOUR_RANGE} AND {_ORG}
GROUP BY period, {dims}, stage
ORDER BY period, {dims}, stage"""  # noqa: S608 (constants and whitelisted names only)


def latency(store: Store, start: datetime, end: datetime, org: str = "", *, grain: str = "day",
            by: Sequence[str] = ("organization_id", "channel")) -> Result:
    """Latency percentiles accepted→sent / delivered / read (ms), from the hourly quantile states."""
    return store.query(latency_sql(grain, by), _params(start, end, org))


LATENCY_EXACT_SQL = f"""
SELECT organization_id, channel, stage, count() AS messages,
    quantilesExact(0.5, 0.9, 0.99)(ms) AS q, q[1] AS p50_ms, q[2] AS p90_ms, q[3] AS p99_ms
FROM (
    SELECT organization_id, channel, status AS stage, message_id,
        dateDiff('millisecond', any(assumeNotNull(accepted_at)), min(occurred_at)) AS ms
    FROM events
    WHERE event_type = '{t.DELIVERY_OUTCOME}' AND status IN ('sent', 'delivered', 'read')
        AND accepted_at IS NOT NULL AND {_ORG}
        AND accepted_at >= {{start:DateTime64(3, 'UTC')}} AND accepted_at < {{end:DateTime64(3, 'UTC')}}
    GROUP BY organization_id, channel, stage, message_id
)
GROUP BY organization_id, channel, stage
ORDER BY organization_id, channel, stage"""  # noqa: S608 (constants and whitelisted names only)


def latency_exact(store: Store, start: datetime, end: datetime, org: str = "") -> Result:
    """The same percentiles from the fact table, first time per message and stage: exact after replays."""
    return store.query(LATENCY_EXACT_SQL, _params(start, end, org))


FALLBACK_SQL = f"""
SELECT organization_id, first_channel, count() AS messages, countIf(max_hop > 0) AS fell_back,
    round(fell_back / messages, 4) AS fallback_rate
FROM (
    SELECT organization_id, message_id, argMin(channel, hop) AS first_channel, max(hop) AS max_hop
    FROM events
    WHERE event_type = '{t.DISPATCH_ATTEMPT}' AND {_RANGE} AND {_ORG}
    GROUP BY organization_id, message_id
)
GROUP BY organization_id, first_channel
ORDER BY organization_id, first_channel"""  # noqa: S608 (constants and whitelisted names only)


def fallback(store: Store, start: datetime, end: datetime, org: str = "") -> Result:
    """Share of dispatched messages that needed at least one fallback hop, by first-choice channel."""
    return store.query(FALLBACK_SQL, _params(start, end, org))


SUCCESSFUL_HOP_SQL = f"""
SELECT organization_id, hop, channel, count() AS delivered_messages
FROM (
    SELECT organization_id, message_id, argMin(hop, occurred_at) AS hop, argMin(channel, occurred_at) AS channel
    FROM events
    WHERE event_type = '{t.DELIVERY_OUTCOME}' AND status IN {DELIVERED} AND {_RANGE} AND {_ORG}
    GROUP BY organization_id, message_id
)
GROUP BY organization_id, hop, channel
ORDER BY organization_id, hop, channel"""  # noqa: S608 (constants and whitelisted names only)


def successful_hop(store: Store, start: datetime, end: datetime, org: str = "") -> Result:
    """Which hop (0 = first choice) and channel delivered each delivered message."""
    return store.query(SUCCESSFUL_HOP_SQL, _params(start, end, org))


OPT_OUT_SQL = f"""
SELECT organization_id,
    uniqExactIf(recipient_id, event_type = '{t.REQUEST_ACCEPTED}') AS recipients_messaged,
    uniqExactIf(recipient_id, event_type = '{t.CONSENT_CHANGE}' AND status = 'opted_out') AS opted_out,
    if(recipients_messaged = 0, NULL, round(opted_out / recipients_messaged, 4)) AS opt_out_rate
FROM events
WHERE event_type IN ('{t.REQUEST_ACCEPTED}', '{t.CONSENT_CHANGE}') AND {_RANGE} AND {_ORG}
GROUP BY organization_id
ORDER BY organization_id"""  # noqa: S608 (constants and whitelisted names only)


def opt_outs(store: Store, start: datetime, end: datetime, org: str = "") -> Result:
    """Recipients who opted out in the range, per recipient messaged in the range."""
    return store.query(OPT_OUT_SQL, _params(start, end, org))


BLOCKED_SQL = f"""
SELECT organization_id, reason, uniqExact(message_id) AS messages
FROM events
WHERE event_type = '{t.DELIVERY_OUTCOME}' AND status = 'blocked' AND {_RANGE} AND {_ORG}
GROUP BY organization_id, reason
ORDER BY organization_id, messages DESC, reason"""  # noqa: S608 (constants and whitelisted names only)


def blocked(store: Store, start: datetime, end: datetime, org: str = "") -> Result:
    """Messages the pipeline refused to send, by reason (consent, rate limits, quiet hours ...)."""
    return store.query(BLOCKED_SQL, _params(start, end, org))


_CARD_CURRENCY, _CARD_RATES = ratecard.load()
_CARD_PRICE = ratecard.price_expression("anyIf(pricing_category, pricing_category != '')", _CARD_RATES)
COST_SQL = f"""
SELECT organization_id, channel, provider, currency,
    count() AS priced_messages, sum(price) AS total_micros, countIf(delivered) AS delivered_messages,
    if(delivered_messages = 0, NULL, round(total_micros / delivered_messages / 1000000, 6)) AS cost_per_delivered
FROM (
    SELECT s.provider AS provider, s.channel AS channel, s.currency AS currency, s.price AS price,
        s.delivered AS delivered, r.organization_id AS organization_id
    FROM (
        -- a provider reports the same price on several callbacks of one message: count it once;
        -- Meta reports a category but no amount: a delivered one is priced from the clinic's rate card,
        -- or 0 where a status said it is not billable
        SELECT provider, provider_message_id, any(message_id) AS message_id, any(channel) AS channel,
            countIf(status IN {DELIVERED}) > 0 AS delivered, max(price_micros) AS reported,
            ifNull(reported, if(channel = 'WHATSAPP' AND delivered,
                if(countIf(billable = 0) > 0, toInt64(0), {_CARD_PRICE}), NULL)) AS price,
            if(reported IS NULL, '{_CARD_CURRENCY}', anyIf(price_currency, price_currency != '')) AS currency
        FROM events
        WHERE event_type = '{t.PROVIDER_STATUS}' AND {_RANGE}
        GROUP BY provider, provider_message_id
        HAVING price IS NOT NULL
    ) AS s
    LEFT JOIN (
        SELECT message_id, any(organization_id) AS organization_id
        FROM events WHERE event_type = '{t.REQUEST_ACCEPTED}' GROUP BY message_id
    ) AS r ON s.message_id = r.message_id
)
WHERE {_ORG}
GROUP BY organization_id, channel, provider, currency
ORDER BY organization_id, channel, provider, currency"""  # noqa: S608 (constants and whitelisted names only)


def cost(store: Store, start: datetime, end: datetime, org: str = "") -> Result:
    """Spend per delivered message (in `currency`): the provider's reported price (Twilio, SNS), or for a
    delivered WhatsApp message that reports none (Meta) the clinic's rate card by category (an estimate).
    Spend includes priced attempts that failed; delivered counts priced provider messages delivered."""
    return store.query(COST_SQL, _params(start, end, org))


APPOINTMENTS_SQL = f"""
SELECT organization_id, toDate(occurred_at) AS day,
    uniqExactIf(answer, event_type = '{t.APPOINTMENT_CONFIRMED}') AS confirmed,
    uniqExactIf(answer, event_type = '{t.APPOINTMENT_CANCEL_REQUESTED}') AS cancel_requested,
    uniqExactIf(answer, event_type = '{t.APPOINTMENT_RESCHEDULE_REQUESTED}') AS reschedule_requested,
    confirmed + cancel_requested + reschedule_requested AS answered,
    if(answered = 0, NULL, round(confirmed / answered, 4)) AS confirmation_rate,
    if(answered = 0, NULL, round(cancel_requested / answered, 4)) AS cancellation_rate
FROM (
    SELECT organization_id, occurred_at, event_type, if(appointment_id = '', event_id, appointment_id) AS answer
    FROM events
    WHERE event_type IN ('{t.APPOINTMENT_CONFIRMED}', '{t.APPOINTMENT_CANCEL_REQUESTED}',
        '{t.APPOINTMENT_RESCHEDULE_REQUESTED}') AND {_RANGE} AND {_ORG}
)
GROUP BY organization_id, day
ORDER BY organization_id, day"""  # noqa: S608 (constants and whitelisted names only)


def appointments(store: Store, start: datetime, end: datetime, org: str = "") -> Result:
    """Patients' answers to reminders, from the CareEvents on appointment.events: confirmation rate =
    confirmed / answered, cancellation rate = cancel requests / answered. An appointment counts once per
    kind of answer (tapping confirm twice is one confirmation; replays collapse on the id); one confirmed
    and later cancelled counts in both."""
    return store.query(APPOINTMENTS_SQL, _params(start, end, org))


PRIORITY_SQL = f"""
SELECT organization_id, priority, count() AS messages, countIf(delivered) AS delivered_messages,
    countIf(read) AS read_messages, countIf(failed AND NOT delivered) AS failed_messages,
    countIf(called) AS voice_escalations,
    if(messages = 0, NULL, round(delivered_messages / messages, 4)) AS delivery_rate,
    quantilesExact(0.5, 0.9)(delivered_ms) AS q, q[1] AS p50_delivered_ms, q[2] AS p90_delivered_ms
FROM (
    SELECT organization_id, message_id, any(priority) AS priority,
        countIf(status IN {DELIVERED}) > 0 AS delivered, countIf(status = 'read') > 0 AS read,
        countIf(status IN {FAILED} AND is_final = 1) > 0 AS failed,
        countIf(status = 'routed' AND reason = '{URGENT_CALL}') > 0 AS called,
        if(delivered, dateDiff('millisecond', any(assumeNotNull(accepted_at)),
                               minIf(occurred_at, status IN {DELIVERED})), NULL) AS delivered_ms
    FROM events
    WHERE event_type = '{t.DELIVERY_OUTCOME}' AND accepted_at IS NOT NULL AND {_ORG}
        AND accepted_at >= {{start:DateTime64(3, 'UTC')}} AND accepted_at < {{end:DateTime64(3, 'UTC')}}
    GROUP BY organization_id, message_id
)
GROUP BY organization_id, priority
ORDER BY organization_id, priority DESC"""  # noqa: S608 (constants and whitelisted names only)


def priorities(store: Store, start: datetime, end: datetime, org: str = "") -> Result:
    """Urgent and normal messages apart, per message accepted in range: delivered (on any hop), read,
    failed without reaching the patient, urgent notices escalated to a voice call because they stayed
    unread, and time to the first delivery (exact percentiles, ms). A notice delivered on WhatsApp and
    then called counts once, as delivered: the call's own outcome does not make it a failure."""
    return store.query(PRIORITY_SQL, _params(start, end, org))


REPORT_SQL = f"""
SELECT o.organization_id AS organization_id, o.channel AS channel, o.provider AS provider,
    o.messages AS messages, o.attempted AS attempted, o.delivered AS delivered, o.read AS read,
    o.failed_final AS failed, o.blocked AS blocked,
    if(o.attempted = 0, NULL, round(o.delivered / o.attempted, 4)) AS delivery_rate,
    if(o.attempted = 0, NULL, round(o.read / o.attempted, 4)) AS read_rate,
    if(o.attempted = 0, NULL, round(o.failed_final / o.attempted, 4)) AS failure_rate,
    l.p50_ms AS p50_delivered_ms, l.p90_ms AS p90_delivered_ms
FROM (
    SELECT organization_id, channel, provider,
        -- every message accepted has an outcome on no channel yet (accepted, scheduled, queued): that
        -- row counts only the messages that ended there (refused, blocked, cancelled before routing)
        uniqExactMergeIf(message_ids, channel != 'UNKNOWN' OR is_final = 1) AS messages,
        uniqExactMergeIf(message_ids, status IN {ATTEMPTED}) AS attempted,
        uniqExactMergeIf(message_ids, status IN {DELIVERED}) AS delivered,
        uniqExactMergeIf(message_ids, status = 'read') AS read,
        uniqExactMergeIf(message_ids, status IN {FAILED} AND is_final = 1) AS failed_final,
        uniqExactMergeIf(message_ids, status = 'blocked') AS blocked
    FROM outcomes_hourly
    WHERE {_HOUR_RANGE} AND {_ORG}
    GROUP BY organization_id, channel, provider
    HAVING messages > 0
) AS o
LEFT JOIN (
    SELECT organization_id, channel, provider,
        quantilesMerge(0.5, 0.9, 0.99)(latency_ms) AS q, round(q[1]) AS p50_ms, round(q[2]) AS p90_ms
    FROM latency_hourly
    WHERE stage = 'delivered' AND {_HOUR_RANGE} AND {_ORG}
    GROUP BY organization_id, channel, provider
) AS l ON o.organization_id = l.organization_id AND o.channel = l.channel AND o.provider = l.provider
ORDER BY organization_id, channel, provider"""  # noqa: S608 (constants and whitelisted names only)


def delivery_report(store: Store, start: datetime, end: datetime, org: str = "") -> Result:
    """The `carelay report` table: per organization, channel and provider, for messages accepted in range."""
    return store.query(REPORT_SQL, _params(start, end, org))
