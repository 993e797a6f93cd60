"""The analytics schema, versioned and applied idempotently at start-up by the process that owns the store.

Each migration is a list of statements that are safe to run again (IF NOT EXISTS), so a crash half way
through one simply re-runs it; its version is recorded in `schema_migrations` only after all succeeded.
Retention (TTL) comes from settings, not from a migration: `apply_ttls` aligns every table on start-up.

Idempotency of the data itself: every fact table is a ReplacingMergeTree whose sorting key ends in the
event id, so a replayed record collapses (read with FINAL, or count with uniqExact). The hourly rollups
are AggregatingMergeTree tables filled by materialized views; they hold uniqExact states of message ids
(a set union: replays cannot double count) and quantile states of latencies (a replayed batch adds its
samples again: figures are approximate after a crash; `queries.latency_exact` is exact).
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from analytics import tables as t
from analytics.store import Store
from schemas.settings import ClickHouseSettings

log = logging.getLogger(__name__)

# Retried batches carry an insert_deduplication_token; MergeTree honours it only within this window.
DEDUP = "SETTINGS non_replicated_deduplication_window = 1000"
TS = "DateTime64(3, 'UTC')"


@dataclass(frozen=True)
class TtlRule:
    expression: str  # a DateTime expression over the table's columns
    days: Callable[[ClickHouseSettings], int]


def _events_days(c: ClickHouseSettings) -> int:
    return c.event_ttl_days


def _state_days(c: ClickHouseSettings) -> int:
    return c.state_ttl_days


def _audit_days(c: ClickHouseSettings) -> int:
    return c.audit_ttl_days


TTL_RULES: dict[str, TtlRule] = {
    t.EVENTS: TtlRule("toDateTime(occurred_at)", _events_days),
    t.CHANNEL_HEALTH: TtlRule("toDateTime(occurred_at)", _events_days),
    "outcomes_hourly": TtlRule("hour", _events_days),
    "latency_hourly": TtlRule("hour", _events_days),
    t.MESSAGE_STATE: TtlRule("toDateTime(updated_at)", _state_days),
    "conversations": TtlRule("toDateTime(last_activity_at)", _state_days),
    t.AUDIT_LOG: TtlRule("toDateTime(occurred_at)", _audit_days),  # the longest: HIPAA documentation
}


def ttl_clause(table: str, ch: ClickHouseSettings) -> str:
    """`TTL expr + INTERVAL n DAY`, or nothing when n is 0 (keep forever)."""
    rule = TTL_RULES[table]
    days = rule.days(ch)
    return f"TTL {rule.expression} + INTERVAL {days} DAY" if days > 0 else ""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: Callable[[ClickHouseSettings], list[str]]


def _v1(ch: ClickHouseSettings) -> list[str]:
    return [
        f"""CREATE TABLE IF NOT EXISTS events (
            event_id String, event_type LowCardinality(String), occurred_at {TS},
            message_id String, attempt_id String, organization_id String,
            recipient_id String COMMENT 'pseudonym: HMAC of organization and number, never the number',
            channel LowCardinality(String), provider LowCardinality(String), provider_message_id String,
            status LowCardinality(String), previous_status LowCardinality(String), template LowCardinality(String),
            priority LowCardinality(String), hop UInt8, is_final UInt8,
            error_code LowCardinality(String), error_class LowCardinality(String), reason String,
            accepted_at Nullable({TS}), price_micros Nullable(Int64), price_currency LowCardinality(String),
            pricing_category LowCardinality(String),
            source_topic LowCardinality(String), source_partition UInt32, source_offset UInt64,
            ingested_at {TS} DEFAULT now64(3)
        ) ENGINE = ReplacingMergeTree
        PARTITION BY toYYYYMM(occurred_at)
        ORDER BY (organization_id, event_type, toStartOfHour(occurred_at), event_id)
        {ttl_clause(t.EVENTS, ch)} {DEDUP}""",
        f"""CREATE TABLE IF NOT EXISTS message_state (
            message_id String, organization_id String, recipient_id String,
            status LowCardinality(String), channel LowCardinality(String), provider LowCardinality(String),
            hop UInt8, is_final UInt8, error_code LowCardinality(String),
            accepted_at {TS}, sent_at Nullable({TS}), delivered_at Nullable({TS}), read_at Nullable({TS}),
            failed_at Nullable({TS}), updated_at {TS}
        ) ENGINE = ReplacingMergeTree(updated_at)
        PARTITION BY toYYYYMM(accepted_at)
        ORDER BY (organization_id, message_id)
        {ttl_clause(t.MESSAGE_STATE, ch)} {DEDUP}""",
        f"""CREATE TABLE IF NOT EXISTS channel_health (
            event_id String, occurred_at {TS}, channel_instance LowCardinality(String),
            provider LowCardinality(String), channel LowCardinality(String), state LowCardinality(String),
            previous_state LowCardinality(String), failures UInt32
        ) ENGINE = ReplacingMergeTree
        ORDER BY (channel_instance, occurred_at, event_id)
        {ttl_clause(t.CHANNEL_HEALTH, ch)} {DEDUP}""",
        f"""CREATE TABLE IF NOT EXISTS audit_log (
            audit_id String, occurred_at {TS}, actor String, role LowCardinality(String),
            organization_id String, action LowCardinality(String), resource String,
            outcome LowCardinality(String), reason String, remote_addr String,
            details Map(String, String), source_topic LowCardinality(String)
        ) ENGINE = ReplacingMergeTree
        PARTITION BY toYYYYMM(occurred_at)
        ORDER BY (organization_id, action, occurred_at, audit_id)
        {ttl_clause(t.AUDIT_LOG, ch)} {DEDUP}""",
        # Per recipient pseudonym, fed from events. Every state is idempotent (set union, max,
        # argMax), so replayed events cannot inflate the counts.
        f"""CREATE TABLE IF NOT EXISTS conversations (
            organization_id String, recipient_id String,
            inbound AggregateFunction(uniqExact, String), outbound AggregateFunction(uniqExact, String),
            last_inbound_at SimpleAggregateFunction(max, {TS}), last_outbound_at SimpleAggregateFunction(max, {TS}),
            last_activity_at SimpleAggregateFunction(max, {TS}),
            paused AggregateFunction(argMax, UInt8, {TS}), opted_out AggregateFunction(argMax, UInt8, {TS})
        ) ENGINE = AggregatingMergeTree
        ORDER BY (organization_id, recipient_id)
        {ttl_clause("conversations", ch)} {DEDUP}""",
        f"""CREATE MATERIALIZED VIEW IF NOT EXISTS conversations_mv TO conversations AS
        SELECT organization_id, recipient_id,
            uniqExactStateIf(event_id, event_type = '{t.INBOUND_MESSAGE}') AS inbound,
            uniqExactStateIf(message_id, event_type = '{t.REQUEST_ACCEPTED}') AS outbound,
            maxIf(occurred_at, event_type = '{t.INBOUND_MESSAGE}') AS last_inbound_at,
            maxIf(occurred_at, event_type = '{t.REQUEST_ACCEPTED}') AS last_outbound_at,
            max(occurred_at) AS last_activity_at,
            argMaxStateIf(toUInt8(event_type = '{t.CONVERSATION_PAUSED}'), occurred_at,
                          event_type IN ('{t.CONVERSATION_PAUSED}', '{t.CONVERSATION_RESUMED}')) AS paused,
            argMaxStateIf(toUInt8(status = 'opted_out'), occurred_at, event_type = '{t.CONSENT_CHANGE}') AS opted_out
        FROM events
        WHERE recipient_id != '' AND event_type IN ('{t.INBOUND_MESSAGE}', '{t.REQUEST_ACCEPTED}',
            '{t.CONSENT_CHANGE}', '{t.CONVERSATION_PAUSED}', '{t.CONVERSATION_RESUMED}')
        GROUP BY organization_id, recipient_id""",  # noqa: S608 (constants and whitelisted names only)
        """CREATE VIEW IF NOT EXISTS conversation_summary AS
        SELECT organization_id, recipient_id,
            uniqExactMerge(inbound) AS inbound_count, uniqExactMerge(outbound) AS outbound_count,
            max(last_inbound_at) AS last_inbound_at, max(last_outbound_at) AS last_outbound_at,
            max(last_activity_at) AS last_activity_at,
            argMaxMerge(paused) AS paused, argMaxMerge(opted_out) AS opted_out
        FROM conversations GROUP BY organization_id, recipient_id""",
        # Outcomes per accepted hour: a message counts once per (channel, provider, template, status)
        # however often its outcome is replayed, because the state is a set of message ids.
        f"""CREATE TABLE IF NOT EXISTS outcomes_hourly (
            hour DateTime('UTC'), organization_id String, channel LowCardinality(String),
            provider LowCardinality(String), template LowCardinality(String), status LowCardinality(String),
            is_final UInt8, message_ids AggregateFunction(uniqExact, String)
        ) ENGINE = AggregatingMergeTree
        ORDER BY (organization_id, hour, channel, provider, template, status, is_final)
        {ttl_clause("outcomes_hourly", ch)} {DEDUP}""",
        f"""CREATE MATERIALIZED VIEW IF NOT EXISTS outcomes_hourly_mv TO outcomes_hourly AS
        SELECT toStartOfHour(toDateTime(coalesce(accepted_at, occurred_at), 'UTC')) AS hour,
            organization_id, channel, provider, template, status, is_final,
            uniqExactState(message_id) AS message_ids
        FROM events WHERE event_type = '{t.DELIVERY_OUTCOME}'
        GROUP BY hour, organization_id, channel, provider, template, status, is_final""",  # noqa: S608 (constants and whitelisted names only)
        f"""CREATE TABLE IF NOT EXISTS latency_hourly (
            hour DateTime('UTC'), organization_id String, channel LowCardinality(String),
            provider LowCardinality(String), template LowCardinality(String), stage LowCardinality(String),
            latency_ms AggregateFunction(quantiles(0.5, 0.9, 0.99), UInt64)
        ) ENGINE = AggregatingMergeTree
        ORDER BY (organization_id, hour, channel, provider, template, stage)
        {ttl_clause("latency_hourly", ch)} {DEDUP}""",
        f"""CREATE MATERIALIZED VIEW IF NOT EXISTS latency_hourly_mv TO latency_hourly AS
        SELECT toStartOfHour(toDateTime(assumeNotNull(accepted_at), 'UTC')) AS hour,
            organization_id, channel, provider, template, status AS stage,
            quantilesState(0.5, 0.9, 0.99)(
                toUInt64(greatest(0, dateDiff('millisecond', assumeNotNull(accepted_at), occurred_at)))
            ) AS latency_ms
        FROM events
        WHERE event_type = '{t.DELIVERY_OUTCOME}' AND status IN ('sent', 'delivered', 'read')
            AND accepted_at IS NOT NULL
        GROUP BY hour, organization_id, channel, provider, template, stage""",  # noqa: S608 (constants and whitelisted names only)
    ]


def _v2(ch: ClickHouseSettings) -> list[str]:
    # CareEvents name the appointment: answers are counted once per appointment (queries.appointments)
    return ["ALTER TABLE events ADD COLUMN IF NOT EXISTS appointment_id String DEFAULT ''"]


def _v3(ch: ClickHouseSettings) -> list[str]:
    # Meta's pricing.billable: a WhatsApp delivery Meta does not bill costs nothing on the rate card (queries.cost)
    return ["ALTER TABLE events ADD COLUMN IF NOT EXISTS billable Nullable(UInt8)"]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "events, message_state, channel_health, audit_log, conversations, hourly rollups", _v1),
    Migration(2, "events.appointment_id (care workflow events)", _v2),
    Migration(3, "events.billable (provider-reported billing flag)", _v3),
)

_LEDGER = f"""CREATE TABLE IF NOT EXISTS schema_migrations (
    version UInt32, name String, applied_at {TS} DEFAULT now64(3)
) ENGINE = ReplacingMergeTree ORDER BY version"""


def applied_versions(store: Store) -> set[int]:
    store.command(_LEDGER)
    return {int(r[0]) for r in store.query("SELECT version FROM schema_migrations FINAL").rows}


def migrate(store: Store, ch: ClickHouseSettings) -> list[int]:
    """Apply the missing migrations in order, then align TTLs with settings. Returns the versions applied."""
    done = applied_versions(store)
    applied = []
    for migration in MIGRATIONS:
        if migration.version in done:
            continue
        for statement in migration.statements(ch):
            store.command(statement)
        store.insert("schema_migrations", [(migration.version, migration.name)], ("version", "name"))
        log.info("analytics schema migrated to version %d (%s)", migration.version, migration.name)
        applied.append(migration.version)
    apply_ttls(store, ch)
    return applied


def apply_ttls(store: Store, ch: ClickHouseSettings) -> list[str]:
    """MODIFY TTL only where the table's TTL differs from settings (MODIFY TTL rewrites parts)."""
    engines = dict(store.query(
        "SELECT name, engine_full FROM system.tables WHERE database = currentDatabase()").rows)
    changed = []
    for table, rule in TTL_RULES.items():
        engine = str(engines.get(table, ""))
        days = rule.days(ch)
        has_ttl = " TTL " in f" {engine} "
        if days > 0 and f"toIntervalDay({days})" not in engine:
            store.command(f"ALTER TABLE {table} MODIFY TTL {rule.expression} + INTERVAL {days} DAY")
            changed.append(table)
        elif days == 0 and has_ttl:
            store.command(f"ALTER TABLE {table} REMOVE TTL")
            changed.append(table)
    return changed
