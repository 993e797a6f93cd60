"""Settings of the stream workers, their limits, and the analytics sink."""
from __future__ import annotations

from dataclasses import dataclass

from starlette.datastructures import Secret

from schemas.settings.declare import NAMES, OPTIONAL_SECRET, POSITIVE, POSITIVE_COUNT, integer, setting


@dataclass(frozen=True)
class StreamsSettings:
    """Stream workers (Faust)"""

    app_id: str = setting(
        "CARELAY_STREAMS_APP_ID", "", "Faust app id = consumer group (and changelog names)",
        shown="`<topic prefix>streams`")
    metrics_port: int = setting(
        "CARELAY_STREAMS_METRICS_PORT", 9102, "the worker's Prometheus `/metrics`; 0 disables", kind=integer())
    batch_max: int = setting(
        "CARELAY_STREAMS_BATCH_MAX", 500, "events per `take_events` batch", kind=integer(1), unit="events")
    batch_within_ms: int = setting(
        "CARELAY_STREAMS_BATCH_WITHIN_MS", 50, "longest wait for a batch to fill, counted from the batch's first "
        "event (`streams/faust_adapter.py`: an idle agent sleeps until an event arrives). Under a light trickle "
        "each hop (intake, dispatch, reconcile) waits the whole of it, so accept → sent grows by up to about twice the "
        "wait; a longer wait gives larger batches and less CPU per message (250 ms: roughly -10 % at "
        "saturation, accept → sent +0.4 s at 100 sends/s)", kind=integer(1), unit="ms")
    fetch_min_bytes: int = setting(
        "CARELAY_STREAMS_FETCH_MIN_BYTES", 65_536, "the workers' Kafka fetches: the broker answers once this many "
        "bytes are there ... Faust's own (1 byte, 1.5 s) answer every fetch at once under load, hundreds of "
        "small rounds a second; 64 KB / 100 ms cut the worker's CPU per lifecycle by about a quarter. Set `1` / "
        "`1500` for Faust's behaviour", kind=integer(1), unit="bytes")
    fetch_max_wait_ms: int = setting(
        "CARELAY_STREAMS_FETCH_MAX_WAIT_MS", 100, "... or after this long: up to this much more per hop under a "
        "trickle, and an idle worker's fetch rounds this often", kind=integer(1), unit="ms")
    standby_replicas: int = setting(
        "CARELAY_STREAMS_STANDBY_REPLICAS", 0, "Faust table standbys (warm copies on other workers)",
        kind=integer())
    session_timeout_s: int = setting(
        "CARELAY_STREAMS_SESSION_TIMEOUT_S", 30, "consumer session timeout: a dead worker's partitions move "
        "after this long", kind=integer(6), unit="s")
    call_concurrency: int = setting(
        "CARELAY_STREAMS_CALL_CONCURRENCY", 32, "provider calls in flight at once per worker", kind=integer(1))
    retry_max_tries: int = setting(
        "CARELAY_RETRY_MAX_TRIES", 4, "provider calls per hop before falling back", kind=integer(1))
    retry_base_ms: int = setting(
        "CARELAY_RETRY_BASE_MS", 1000, "first retry backoff", kind=integer(1), unit="ms")
    retry_cap_ms: int = setting(
        "CARELAY_RETRY_CAP_MS", 300_000, "longest retry backoff", kind=integer(1), unit="ms")
    in_doubt_grace_s: int = setting(
        "CARELAY_IN_DOUBT_GRACE_S", 120, "wait for a status callback before resending an in-doubt attempt",
        kind=integer(), unit="s")
    echo_window_s: int = setting(
        "CARELAY_ECHO_WINDOW_S", 2, "an inbound this soon after our send with our text is our own echo",
        kind=integer(), unit="s")
    loop_bot_reply_s: int = setting(
        "CARELAY_LOOP_BOT_REPLY_S", 10, "an inbound this soon after an automated send looks bot-made",
        kind=integer(), unit="s")
    loop_ping_pong: int = setting(
        "CARELAY_LOOP_PING_PONG", 3, "that many bot-made replies within the loop window pause the conversation",
        kind=integer(1))
    loop_pause_s: int = setting(
        "CARELAY_LOOP_PAUSE_S", 86_400, "how long automated replies stay paused", kind=integer(), unit="s")
    whatsapp_window_s: int = setting(
        "CARELAY_WHATSAPP_WINDOW_S", 86_400, "the customer-service window an inbound message opens",
        kind=integer(1), unit="s")
    reconcile_interval_s: int = setting(
        "CARELAY_RECONCILE_INTERVAL_S", 60, "the reconciliation sweep's period", kind=integer(1), unit="s")
    reconcile_stuck_s: int = setting(
        "CARELAY_RECONCILE_STUCK_S", 900, "poll the provider for messages quiet this long", kind=integer(1),
        unit="s")
    message_retention_s: int = setting(
        "CARELAY_MESSAGE_RETENTION_S", 7 * 86_400, "finished message records kept (late `read`s)",
        kind=integer(1), unit="s")
    inbound_dedup_days: int = setting(
        "CARELAY_INBOUND_DEDUP_DAYS", 7, "a patient's inbound provider message ids are remembered this long: a "
        "captured signed webhook (STOP, a confirmation) posted again within them is dropped, however many "
        "messages came in between", kind=integer(1), unit="days")


@dataclass(frozen=True)
class LimitSettings:
    """Limits, dedup, circuit breakers, delivery deadlines"""

    dedup_window_s: int = setting(
        "CARELAY_DEDUP_WINDOW_S", 24 * 3600, "send-request dedup window", kind=integer(), unit="s")
    per_recipient_hour: int = setting(
        "CARELAY_LIMIT_RECIPIENT_HOUR", 3, "non-urgent messages per patient per hour", kind=integer())
    per_recipient_day: int = setting(
        "CARELAY_LIMIT_RECIPIENT_DAY", 6, "non-urgent messages per patient per day", kind=integer())
    urgent_per_recipient_hour: int = setting(
        "CARELAY_LIMIT_URGENT_RECIPIENT_HOUR", 10, "urgent messages per patient per hour", kind=integer())
    per_org_second: float = setting(
        "CARELAY_LIMIT_ORG_PER_SECOND", 200.0, "messages per organization per second", kind=POSITIVE,
        unit="messages/s")
    loop_cap_replies: int = setting(
        "CARELAY_LOOP_CAP_REPLIES", 5, "automated replies per conversation per window", kind=integer())
    loop_cap_window_s: int = setting(
        "CARELAY_LOOP_CAP_WINDOW_S", 600, "the window of `CARELAY_LOOP_CAP_REPLIES`", kind=integer(), unit="s")
    breaker_failures: int = setting(
        "CARELAY_BREAKER_FAILURES", 5, "failures within the window that open a channel instance's circuit "
        "breaker", kind=integer())
    breaker_window_s: int = setting(
        "CARELAY_BREAKER_WINDOW_S", 60, "the circuit breaker's failure window", kind=integer(), unit="s")
    breaker_recovery_s: int = setting(
        "CARELAY_BREAKER_RECOVERY_S", 30, "an open breaker tries again after this long", kind=integer(), unit="s")
    breaker_half_open_calls: int = setting(
        "CARELAY_BREAKER_HALF_OPEN_CALLS", 3, "trial calls of a half-open breaker", kind=integer())
    delivery_deadline_normal_s: int = setting(
        "CARELAY_DELIVERY_DEADLINE_NORMAL_S", 3600, "a non-urgent message not delivered by then falls back",
        kind=integer(), unit="s")
    delivery_deadline_urgent_s: int = setting(
        "CARELAY_DELIVERY_DEADLINE_URGENT_S", 120, "an urgent message not delivered by then falls back",
        kind=integer(), unit="s")


@dataclass(frozen=True)
class AnalyticsSettings:
    """Analytics sink and analysts' service"""

    host: str = setting("CARELAY_ANALYTICS_HOST", "127.0.0.1", "address the sink process serves analysts on")
    port: int = setting("CARELAY_ANALYTICS_PORT", 8200, "port the sink process serves analysts on",
                        kind=integer())
    url: str = setting(
        "CARELAY_ANALYTICS_URL", "", "where `carelay report` and the console's reports page find the owner process",
        shown="`http://HOST:PORT`")
    api_key: Secret = setting(
        "CARELAY_ANALYTICS_API_KEY", Secret(""), "the key `carelay report` and the console's reports page present "
        "(an analyst's of an organization in CARELAY_ANALYTICS_SQL_ORGS when the console serves several)",
        kind=OPTIONAL_SECRET)
    batch_rows: int = setting(
        "CARELAY_ANALYTICS_BATCH_ROWS", 10_000, "flush a batch at this many rows (ClickHouse favours few large "
        "inserts) ...", kind=POSITIVE_COUNT, unit="rows")
    batch_interval_s: float = setting(
        "CARELAY_ANALYTICS_BATCH_INTERVAL_S", 5.0, "... or when its oldest row is this old: how far analytics "
        "may lag behind the topics. Every flush costs ClickHouse (chdb) 10-35 ms of CPU per table whatever its "
        "size, so a shorter interval costs CPU under a steady trickle", kind=POSITIVE, unit="s")
    query_timeout_s: int = setting(
        "CARELAY_ANALYTICS_QUERY_TIMEOUT_S", 30, "`max_execution_time` of analysts' queries",
        kind=POSITIVE_COUNT, unit="s")
    max_result_rows: int = setting(
        "CARELAY_ANALYTICS_MAX_RESULT_ROWS", 10_000, "`max_result_rows` of analysts' queries "
        "(`result_overflow_mode=throw`)", kind=POSITIVE_COUNT, unit="rows")
    retry_initial_s: float = setting(
        "CARELAY_ANALYTICS_RETRY_INITIAL_S", 0.5, "first backoff of a failed insert while ClickHouse is "
        "unreachable (consumption paused), doubling ...", kind=POSITIVE, unit="s")
    retry_max_s: float = setting(
        "CARELAY_ANALYTICS_RETRY_MAX_S", 30.0, "... up to this", kind=POSITIVE, unit="s")
    group_id: str = setting(
        "CARELAY_ANALYTICS_GROUP_ID", "", "the consumer group whose single member owns the store (static member "
        "`<group>-owner`); from the prefix by default so two deployments sharing a cluster never share it",
        shown="`<CARELAY_TOPIC_PREFIX>analytics`")
    sql_orgs: frozenset[str] = setting(
        "CARELAY_ANALYTICS_SQL_ORGS", frozenset(), "organizations whose analysts may use `/v1/sql` and see every "
        "organization's report (analytics/access.py)", kind=NAMES)

    @property
    def base_url(self) -> str:
        return (self.url or f"http://{self.host}:{self.port}").rstrip("/")
