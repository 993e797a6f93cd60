"""The one typed settings object, parsed once from environment variables at each entry point.

Every variable is documented in the README's Settings table; `Settings.from_env()` fails at start-up
with a ConfigError naming the variable when one is missing or malformed. Secrets are
`starlette.datastructures.Secret`, whose repr never shows the value.
"""
from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from starlette.config import Config
from starlette.datastructures import Secret

from schemas.errors import ConfigError
from schemas.secrets import KeyRing, SecretUrl, parse_environment, production_refusals

# Development-only keys: `make run` and the tests use them so that a fresh clone works.
# `CARELAY_ENV=production` refuses to start with them, compared as decoded bytes (see `_check_production`).
DEV_PHI_KEYS = "dev1:ZGV2LW9ubHktcGhpLWtleS0wMDAwMDAwMDAwMDAwMDA="
DEV_PSEUDONYM_KEY = "ZGV2LW9ubHktcHNldWRvbnltLWtleS0wMDAwMDAwMDA="
DEV_CONSOLE_SESSION_KEY = "dev-only-console-session-key-000000000000"


def _decode_key(var: str, text: str, *, size: int | None = 32) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ConfigError(f"{var}: not valid base64") from exc
    if size is not None and len(raw) != size:
        raise ConfigError(f"{var}: key must decode to {size} bytes, got {len(raw)}")
    if size is None and len(raw) < 16:
        raise ConfigError(f"{var}: key must decode to at least 16 bytes")
    return raw


def parse_key_ring(var: str, text: str) -> KeyRing:
    """`id1:base64key,id2:base64key`; the last entry is the newest and encrypts, all decrypt."""
    ring: list[tuple[str, bytes]] = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        kid, sep, b64 = item.partition(":")
        if not sep or not kid:
            raise ConfigError(f"{var}: each entry must be key_id:base64_key")
        if any(k == kid for k, _ in ring):
            raise ConfigError(f"{var}: key id {kid!r} appears twice")
        ring.append((kid, _decode_key(var, b64)))
    if not ring:
        raise ConfigError(f"{var}: at least one key is required")
    return KeyRing(ring)


@dataclass(frozen=True)
class KafkaSettings:
    bootstrap: str = "127.0.0.1:9092"
    schema_registry_url: str = "http://127.0.0.1:8081/apis/ccompat/v7"
    topic_prefix: str = "carelay."
    partitions: int = 6
    replication_factor: int = 1
    send_timeout_s: float = 5.0
    linger_ms: int = 5


@dataclass(frozen=True)
class ClickHouseSettings:
    url: str = ""  # empty: the embedded chdb engine at `path`; may hold a password, so a SecretUrl
    path: str = "var/chdb"
    event_ttl_days: int = 400
    state_ttl_days: int = 400
    audit_ttl_days: int = 2190  # six years: HIPAA documentation retention

    def __post_init__(self) -> None:
        object.__setattr__(self, "url", SecretUrl(self.url))


@dataclass(frozen=True)
class TwilioSettings:
    account_sid: str = "AC00000000000000000000000000000000"
    auth_token: Secret = field(default_factory=lambda: Secret("dev-twilio-auth-token"))
    base_url: str = ""  # empty: the real api.twilio.com; the simulator in tests and `make run`
    sms_from: str = "+15005550006"
    whatsapp_from: str = "+15005550007"
    voice_from: str = "+15005550008"
    sms_per_second: float = 1.0
    whatsapp_per_second: float = 20.0


@dataclass(frozen=True)
class MetaSettings:
    access_token: Secret = field(default_factory=lambda: Secret("dev-meta-access-token"))
    app_secret: Secret = field(default_factory=lambda: Secret("dev-meta-app-secret"))
    verify_token: Secret = field(default_factory=lambda: Secret("dev-meta-verify-token"))
    base_url: str = "https://graph.facebook.com"
    api_version: str = "v21.0"
    phone_number_id: str = "100000000000001"
    auth_header: str = "Authorization"  # 360dialog: D360-API-KEY
    per_second: float = 80.0


@dataclass(frozen=True)
class GatewaySettings:
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = "http://127.0.0.1:8000"  # the URL providers call; Twilio signs it
    max_body_bytes: int = 1_000_000
    max_batch_items: int = 1000
    api_keys_file: str = ""  # JSON list of hashed keys
    demo_api_keys: bool = False  # without a key file, the demo keys (gateway/auth.py); never in production
    staff_view_size: int = 1000  # staff notifications each gateway process holds per organization
    unseen_after_s: float = 60.0  # an accepted send with no state from the workers this long after: alarm
    # The gateway's own producer batching delay. Every accept waits it out before the broker's ack, so
    # it is most of a send's answer time; the workers and the sink batch for throughput (kafka.linger_ms).
    linger_ms: int = 2
    # The send producer's queue (librdkafka queue.buffering.max.messages): records waiting for the
    # broker's ack; when full a send is a 503. Audit records the caller does not wait for (refusals'
    # window counts, rejections, callback tallies) have their own producer and queue, so they never
    # take a send's place (gateway/audit.py).
    queue_max_messages: int = 100_000
    audit_queue_max_messages: int = 10_000
    # Refusals (401, 403, bad signatures, failed verify handshakes) per source address per minute;
    # beyond it that source's refusals are answered 429 with Retry-After (gateway/refusals.py). 0: no limit.
    refusals_per_minute: int = 120


@dataclass(frozen=True)
class ConsoleSettings:
    """The staff console (gateway/console): sessions and lock-out."""

    session_key: Secret = field(default_factory=lambda: Secret(DEV_CONSOLE_SESSION_KEY))  # signs session cookies
    idle_s: int = 900  # signed off after this long without a request (45 CFR 164.312(a)(2)(iii))
    session_max_s: int = 12 * 3600  # and after this long whatever happens (a day's shift)
    lockout_failures: int = 5  # this many failed sign-ins in a row lock the account ...
    lockout_s: int = 1800  # ... for this long, or until `carelay users unlock`


@dataclass(frozen=True)
class AnalyticsSettings:
    host: str = "127.0.0.1"
    port: int = 8200
    url: str = ""  # where `carelay report` finds the owner process; empty: http://host:port
    api_key: Secret = field(default_factory=lambda: Secret(""))  # the key `carelay report` presents
    batch_rows: int = 10_000  # ClickHouse favours few large inserts: flush at this many rows...
    # ...or when the oldest buffered row is this old. Each flush costs chdb 10-35 ms of CPU per table
    # whatever its size (parts, materialized views), so at 1 s that fixed cost was most of the sink's CPU.
    batch_interval_s: float = 5.0
    query_timeout_s: int = 30  # max_execution_time of analysts' queries
    max_result_rows: int = 10_000  # max_result_rows of analysts' queries (result_overflow_mode=throw)
    retry_initial_s: float = 0.5  # backoff of a failed insert, doubling up to retry_max_s
    retry_max_s: float = 30.0
    # the one consumer group whose single member owns the store; empty: the topic prefix + "analytics",
    # so two deployments sharing a cluster (their own prefixes) never share the group or its static member
    group_id: str = ""
    sql_orgs: frozenset[str] = frozenset()  # organizations whose analysts may run raw SQL (analytics/access.py)

    @property
    def base_url(self) -> str:
        return (self.url or f"http://{self.host}:{self.port}").rstrip("/")


@dataclass(frozen=True)
class StreamsSettings:
    app_id: str = ""  # Faust app id (consumer group, changelog names); empty: topic prefix + "streams"
    metrics_port: int = 9102  # the worker's Prometheus /metrics; 0 disables
    batch_max: int = 500  # events per stream.take_events() batch
    batch_within_ms: int = 50  # longest wait for a batch to fill (idle wake-ups vs. latency per hop)
    fetch_min_bytes: int = 65_536  # the broker answers a fetch once this much is there ...
    fetch_max_wait_ms: int = 100  # ... or after this long (fetch rounds vs. latency per hop)
    standby_replicas: int = 0  # Faust table standbys (warm copies on other workers)
    session_timeout_s: int = 30  # a dead worker's partitions move after this long
    call_concurrency: int = 32  # provider calls in flight at once per worker
    retry_max_tries: int = 4  # provider calls per hop before falling back
    retry_base_ms: int = 1000
    retry_cap_ms: int = 300_000
    in_doubt_grace_s: int = 120  # wait for a status callback before resending an in-doubt attempt
    echo_window_s: int = 2  # an inbound this soon after our send with our text is our own echo
    loop_bot_reply_s: int = 10  # an inbound this soon after an automated send looks bot-made
    loop_ping_pong: int = 3  # that many bot-made replies within the loop window pause the conversation
    loop_pause_s: int = 86_400  # how long automated replies stay paused
    whatsapp_window_s: int = 86_400  # the customer-service window an inbound message opens
    reconcile_interval_s: int = 60  # the reconciliation timer's period
    reconcile_stuck_s: int = 900  # poll the provider for messages quiet this long
    message_retention_s: int = 7 * 86_400  # keep final message records this long (late `read`s)
    inbound_dedup_days: int = 7  # a patient's inbound provider message ids are remembered this long (replays)


@dataclass(frozen=True)
class LimitSettings:
    dedup_window_s: int = 24 * 3600
    per_recipient_hour: int = 3
    per_recipient_day: int = 6
    urgent_per_recipient_hour: int = 10
    per_org_second: float = 200.0
    loop_cap_replies: int = 5
    loop_cap_window_s: int = 600
    breaker_failures: int = 5
    breaker_window_s: int = 60
    breaker_recovery_s: int = 30
    breaker_half_open_calls: int = 3
    delivery_deadline_normal_s: int = 3600
    delivery_deadline_urgent_s: int = 120


_HHMM_RANGE = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-3]):([0-5][0-9])$")


def parse_quiet_hours(var: str, text: str) -> tuple[int, int]:
    """`21:00-08:00` -> (1260, 480): local minutes of the day, start inclusive, end exclusive; may wrap."""
    m = _HHMM_RANGE.match(text.strip())
    if not m:
        raise ConfigError(f"{var}: quiet hours must be HH:MM-HH:MM")
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    return h1 * 60 + m1, h2 * 60 + m2


def check_timezone(var: str, name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"{var}: not an IANA time zone") from exc
    return name


@dataclass(frozen=True)
class OrgCare:
    """One organization's own timezone and quiet hours (CARELAY_CARE_ORGS)."""

    organization_id: str
    timezone: str
    quiet_hours: tuple[int, int]


@dataclass(frozen=True)
class CareSettings:
    """Care workflows (streams/care): reminders, quiet hours, the AI bridge, the urgent lane."""

    default_timezone: str = "America/Mexico_City"
    quiet_hours: tuple[int, int] = (21 * 60, 8 * 60)  # local minutes: 21:00 to 08:00
    orgs: tuple[OrgCare, ...] = ()  # per-organization overrides of the two above
    reminder_offsets_s: tuple[int, ...] = (24 * 3600, 2 * 3600)
    ai_reply_timeout_s: float = 3.0
    urgent_voice_after_unread_s: int = 600  # an urgent notice delivered but not read by then: call

    def for_org(self, organization_id: str) -> tuple[str, tuple[int, int]]:
        """(timezone, quiet hours) of the organization."""
        own = next((o for o in self.orgs if o.organization_id == organization_id), None)
        return (own.timezone, own.quiet_hours) if own else (self.default_timezone, self.quiet_hours)


def parse_care_orgs(var: str, text: str) -> tuple[OrgCare, ...]:
    """`org=Zone/Name@21:00-08:00;org2=...`."""
    out: list[OrgCare] = []
    for item in (p.strip() for p in text.split(";")):
        if not item:
            continue
        org, sep, rest = item.partition("=")
        zone, at, hours = rest.partition("@")
        if not sep or not at or not org.strip():
            raise ConfigError(f"{var}: each entry must be organization=Zone/Name@HH:MM-HH:MM")
        out.append(OrgCare(org.strip(), check_timezone(var, zone.strip()), parse_quiet_hours(var, hours)))
    return tuple(out)


@dataclass(frozen=True)
class Settings:
    env: str = "development"  # one of schemas.secrets.ENVIRONMENTS
    phi_keys: tuple[tuple[str, bytes], ...] = ()  # a KeyRing: its repr shows the key ids only
    phi_accept_unbound: bool = True  # open v1 sealed values (field-name AAD only): the migration window
    pseudonym_key: Secret = field(default_factory=lambda: Secret(""))
    kafka: KafkaSettings = field(default_factory=KafkaSettings)
    clickhouse: ClickHouseSettings = field(default_factory=ClickHouseSettings)
    twilio: TwilioSettings = field(default_factory=TwilioSettings)
    meta: MetaSettings = field(default_factory=MetaSettings)
    gateway: GatewaySettings = field(default_factory=GatewaySettings)
    limits: LimitSettings = field(default_factory=LimitSettings)
    analytics: AnalyticsSettings = field(default_factory=AnalyticsSettings)
    streams: StreamsSettings = field(default_factory=StreamsSettings)
    care: CareSettings = field(default_factory=CareSettings)
    console: ConsoleSettings = field(default_factory=ConsoleSettings)
    data_dir: Path = Path("var")
    log_level: str = "INFO"
    channels_file: str = ""  # JSON list of channel instances; empty: the demo set (connectors.instances)

    def __post_init__(self) -> None:
        object.__setattr__(self, "phi_keys", KeyRing(self.phi_keys))

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def pseudonym_key_bytes(self) -> bytes:
        return base64.b64decode(str(self.pseudonym_key))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = dict(os.environ if environ is None else environ)
        cfg = Config(environ=env)

        def get(name: str, cast: type, default: object) -> object:
            var = f"CARELAY_{name}"
            try:
                return cfg(var, cast=cast, default=default)
            except (KeyError, ValueError) as exc:
                raise ConfigError(f"{var}: {exc}") from exc

        def s(name: str, default: str) -> str:
            return str(get(name, str, default))

        def i(name: str, default: int) -> int:
            value = int(get(name, int, default))  # type: ignore[call-overload]
            if value < 0:
                raise ConfigError(f"CARELAY_{name}: must not be negative")
            return value

        def f(name: str, default: float) -> float:
            value = float(get(name, float, default))  # type: ignore[arg-type]
            if value <= 0:
                raise ConfigError(f"CARELAY_{name}: must be positive")
            return value

        def secret(name: str, default: str, *, blank_ok: bool = False) -> Secret:
            value = s(name, default)
            if not blank_ok and not value.strip():
                raise ConfigError(f"CARELAY_{name}: must not be empty (an empty key signs for anyone)")
            return Secret(value)

        def b(name: str, default: bool) -> bool:
            return bool(get(name, bool, default))

        phi_keys = parse_key_ring("CARELAY_PHI_KEYS", s("PHI_KEYS", DEV_PHI_KEYS))
        pseudonym_text = s("PSEUDONYM_KEY", DEV_PSEUDONYM_KEY)
        _decode_key("CARELAY_PSEUDONYM_KEY", pseudonym_text, size=None)

        k, c, t, m, g, lim, a, st = (KafkaSettings(), ClickHouseSettings(), TwilioSettings(), MetaSettings(),
                                     GatewaySettings(), LimitSettings(), AnalyticsSettings(), StreamsSettings())

        def at_least(name: str, default: int, low: int) -> int:
            value = i(name, default)
            if value < low:
                raise ConfigError(f"CARELAY_{name}: must be at least {low}")
            return value

        prefix = s("TOPIC_PREFIX", k.topic_prefix)  # also names the analytics group by default
        care = CareSettings()
        offsets_text = s("CARE_REMINDER_OFFSETS_S", ",".join(str(o) for o in care.reminder_offsets_s))
        try:
            offsets = tuple(sorted({int(o) for o in offsets_text.split(",") if o.strip()}, reverse=True))
        except ValueError:
            raise ConfigError("CARELAY_CARE_REMINDER_OFFSETS_S: comma-separated seconds") from None
        if any(o <= 0 for o in offsets):
            raise ConfigError("CARELAY_CARE_REMINDER_OFFSETS_S: offsets must be positive")
        settings = cls(
            env=parse_environment("CARELAY_ENV", s("ENV", "development")),
            phi_keys=phi_keys,
            phi_accept_unbound=b("PHI_ACCEPT_UNBOUND", True),
            pseudonym_key=Secret(pseudonym_text),
            data_dir=Path(s("DATA_DIR", "var")),
            log_level=s("LOG_LEVEL", "INFO").upper(),
            channels_file=s("CHANNELS_FILE", ""),
            kafka=KafkaSettings(
                bootstrap=s("KAFKA_BOOTSTRAP", k.bootstrap),
                schema_registry_url=s("SCHEMA_REGISTRY_URL", k.schema_registry_url),
                topic_prefix=prefix,
                partitions=i("KAFKA_PARTITIONS", k.partitions),
                replication_factor=i("KAFKA_REPLICATION_FACTOR", k.replication_factor),
                send_timeout_s=f("KAFKA_SEND_TIMEOUT_S", k.send_timeout_s),
                linger_ms=i("KAFKA_LINGER_MS", k.linger_ms),
            ),
            clickhouse=ClickHouseSettings(
                url=SecretUrl(s("CLICKHOUSE_URL", c.url)),
                path=s("CLICKHOUSE_PATH", c.path),
                event_ttl_days=i("CLICKHOUSE_EVENT_TTL_DAYS", c.event_ttl_days),
                state_ttl_days=i("CLICKHOUSE_STATE_TTL_DAYS", c.state_ttl_days),
                audit_ttl_days=i("CLICKHOUSE_AUDIT_TTL_DAYS", c.audit_ttl_days),
            ),
            twilio=TwilioSettings(
                account_sid=s("TWILIO_ACCOUNT_SID", t.account_sid),
                auth_token=secret("TWILIO_AUTH_TOKEN", str(t.auth_token)),
                base_url=s("TWILIO_BASE_URL", t.base_url),
                sms_from=s("TWILIO_SMS_FROM", t.sms_from),
                whatsapp_from=s("TWILIO_WHATSAPP_FROM", t.whatsapp_from),
                voice_from=s("TWILIO_VOICE_FROM", t.voice_from),
                sms_per_second=f("TWILIO_SMS_PER_SECOND", t.sms_per_second),
                whatsapp_per_second=f("TWILIO_WHATSAPP_PER_SECOND", t.whatsapp_per_second),
            ),
            meta=MetaSettings(
                access_token=secret("META_ACCESS_TOKEN", str(m.access_token)),
                app_secret=secret("META_APP_SECRET", str(m.app_secret)),
                verify_token=secret("META_VERIFY_TOKEN", str(m.verify_token)),
                base_url=s("META_BASE_URL", m.base_url),
                api_version=s("META_API_VERSION", m.api_version),
                phone_number_id=s("META_PHONE_NUMBER_ID", m.phone_number_id),
                auth_header=s("META_AUTH_HEADER", m.auth_header),
                per_second=f("META_PER_SECOND", m.per_second),
            ),
            gateway=GatewaySettings(
                host=s("GATEWAY_HOST", g.host),
                port=i("GATEWAY_PORT", g.port),
                public_url=s("PUBLIC_URL", g.public_url).rstrip("/"),
                max_body_bytes=i("GATEWAY_MAX_BODY_BYTES", g.max_body_bytes),
                max_batch_items=i("GATEWAY_MAX_BATCH_ITEMS", g.max_batch_items),
                api_keys_file=s("API_KEYS_FILE", g.api_keys_file),
                demo_api_keys=b("DEMO_API_KEYS", g.demo_api_keys),
                staff_view_size=at_least("GATEWAY_STAFF_VIEW_SIZE", g.staff_view_size, 1),
                unseen_after_s=f("GATEWAY_UNSEEN_AFTER_S", g.unseen_after_s),
                linger_ms=i("GATEWAY_LINGER_MS", g.linger_ms),
                queue_max_messages=at_least("GATEWAY_QUEUE_MAX_MESSAGES", g.queue_max_messages, 1),
                audit_queue_max_messages=at_least("GATEWAY_AUDIT_QUEUE_MAX_MESSAGES", g.audit_queue_max_messages, 1),
                refusals_per_minute=at_least("GATEWAY_REFUSALS_PER_MINUTE", g.refusals_per_minute, 0),
            ),
            limits=LimitSettings(
                dedup_window_s=i("DEDUP_WINDOW_S", lim.dedup_window_s),
                per_recipient_hour=i("LIMIT_RECIPIENT_HOUR", lim.per_recipient_hour),
                per_recipient_day=i("LIMIT_RECIPIENT_DAY", lim.per_recipient_day),
                urgent_per_recipient_hour=i("LIMIT_URGENT_RECIPIENT_HOUR", lim.urgent_per_recipient_hour),
                per_org_second=f("LIMIT_ORG_PER_SECOND", lim.per_org_second),
                loop_cap_replies=i("LOOP_CAP_REPLIES", lim.loop_cap_replies),
                loop_cap_window_s=i("LOOP_CAP_WINDOW_S", lim.loop_cap_window_s),
                breaker_failures=i("BREAKER_FAILURES", lim.breaker_failures),
                breaker_window_s=i("BREAKER_WINDOW_S", lim.breaker_window_s),
                breaker_recovery_s=i("BREAKER_RECOVERY_S", lim.breaker_recovery_s),
                breaker_half_open_calls=i("BREAKER_HALF_OPEN_CALLS", lim.breaker_half_open_calls),
                delivery_deadline_normal_s=i("DELIVERY_DEADLINE_NORMAL_S", lim.delivery_deadline_normal_s),
                delivery_deadline_urgent_s=i("DELIVERY_DEADLINE_URGENT_S", lim.delivery_deadline_urgent_s),
            ),
            streams=StreamsSettings(
                app_id=s("STREAMS_APP_ID", st.app_id),
                metrics_port=i("STREAMS_METRICS_PORT", st.metrics_port),
                batch_max=at_least("STREAMS_BATCH_MAX", st.batch_max, 1),
                batch_within_ms=at_least("STREAMS_BATCH_WITHIN_MS", st.batch_within_ms, 1),
                fetch_min_bytes=at_least("STREAMS_FETCH_MIN_BYTES", st.fetch_min_bytes, 1),
                fetch_max_wait_ms=at_least("STREAMS_FETCH_MAX_WAIT_MS", st.fetch_max_wait_ms, 1),
                standby_replicas=i("STREAMS_STANDBY_REPLICAS", st.standby_replicas),
                session_timeout_s=at_least("STREAMS_SESSION_TIMEOUT_S", st.session_timeout_s, 6),
                call_concurrency=at_least("STREAMS_CALL_CONCURRENCY", st.call_concurrency, 1),
                retry_max_tries=at_least("RETRY_MAX_TRIES", st.retry_max_tries, 1),
                retry_base_ms=at_least("RETRY_BASE_MS", st.retry_base_ms, 1),
                retry_cap_ms=at_least("RETRY_CAP_MS", st.retry_cap_ms, 1),
                in_doubt_grace_s=i("IN_DOUBT_GRACE_S", st.in_doubt_grace_s),
                echo_window_s=i("ECHO_WINDOW_S", st.echo_window_s),
                loop_bot_reply_s=i("LOOP_BOT_REPLY_S", st.loop_bot_reply_s),
                loop_ping_pong=at_least("LOOP_PING_PONG", st.loop_ping_pong, 1),
                loop_pause_s=i("LOOP_PAUSE_S", st.loop_pause_s),
                whatsapp_window_s=at_least("WHATSAPP_WINDOW_S", st.whatsapp_window_s, 1),
                reconcile_interval_s=at_least("RECONCILE_INTERVAL_S", st.reconcile_interval_s, 1),
                reconcile_stuck_s=at_least("RECONCILE_STUCK_S", st.reconcile_stuck_s, 1),
                message_retention_s=at_least("MESSAGE_RETENTION_S", st.message_retention_s, 1),
                inbound_dedup_days=at_least("INBOUND_DEDUP_DAYS", st.inbound_dedup_days, 1),
            ),
            analytics=AnalyticsSettings(
                host=s("ANALYTICS_HOST", a.host),
                port=i("ANALYTICS_PORT", a.port),
                url=s("ANALYTICS_URL", a.url),
                api_key=secret("ANALYTICS_API_KEY", "", blank_ok=True),
                batch_rows=int(f("ANALYTICS_BATCH_ROWS", a.batch_rows)),
                batch_interval_s=f("ANALYTICS_BATCH_INTERVAL_S", a.batch_interval_s),
                query_timeout_s=int(f("ANALYTICS_QUERY_TIMEOUT_S", a.query_timeout_s)),
                max_result_rows=int(f("ANALYTICS_MAX_RESULT_ROWS", a.max_result_rows)),
                retry_initial_s=f("ANALYTICS_RETRY_INITIAL_S", a.retry_initial_s),
                retry_max_s=f("ANALYTICS_RETRY_MAX_S", a.retry_max_s),
                group_id=s("ANALYTICS_GROUP_ID", a.group_id) or f"{prefix}analytics",
                sql_orgs=frozenset(o.strip() for o in s("ANALYTICS_SQL_ORGS", "").split(",") if o.strip()),
            ),
            console=ConsoleSettings(
                session_key=secret("CONSOLE_SESSION_KEY", DEV_CONSOLE_SESSION_KEY),
                idle_s=at_least("CONSOLE_IDLE_S", 900, 60),
                session_max_s=at_least("CONSOLE_SESSION_MAX_S", 12 * 3600, 60),
                lockout_failures=at_least("CONSOLE_LOCKOUT_FAILURES", 5, 1),
                lockout_s=at_least("CONSOLE_LOCKOUT_S", 1800, 1),
            ),
            care=CareSettings(
                default_timezone=check_timezone("CARELAY_CARE_TIMEZONE", s("CARE_TIMEZONE", care.default_timezone)),
                quiet_hours=parse_quiet_hours("CARELAY_CARE_QUIET_HOURS", s("CARE_QUIET_HOURS", "21:00-08:00")),
                orgs=parse_care_orgs("CARELAY_CARE_ORGS", s("CARE_ORGS", "")),
                reminder_offsets_s=offsets,
                ai_reply_timeout_s=f("CARE_AI_REPLY_TIMEOUT_S", care.ai_reply_timeout_s),
                urgent_voice_after_unread_s=i("CARE_URGENT_VOICE_AFTER_S", care.urgent_voice_after_unread_s),
            ),
        )
        settings._check_production()
        return settings

    def _check_production(self) -> None:
        if not self.production:
            return
        t, m = self.twilio, self.meta
        dev_t, dev_m = TwilioSettings(), MetaSettings()
        given: dict[str, tuple[bytes, ...]] = {
            "CARELAY_PHI_KEYS": tuple(key for _, key in self.phi_keys),
            "CARELAY_PSEUDONYM_KEY": (self.pseudonym_key_bytes,),
            "CARELAY_TWILIO_AUTH_TOKEN": (str(t.auth_token).encode(),),
            "CARELAY_META_ACCESS_TOKEN": (str(m.access_token).encode(),),
            "CARELAY_META_APP_SECRET": (str(m.app_secret).encode(),),
            "CARELAY_META_VERIFY_TOKEN": (str(m.verify_token).encode(),),
            "CARELAY_CONSOLE_SESSION_KEY": (str(self.console.session_key).encode(),),
        }
        development = {
            "CARELAY_PHI_KEYS": parse_key_ring("CARELAY_PHI_KEYS", DEV_PHI_KEYS)[0][1],
            "CARELAY_PSEUDONYM_KEY": base64.b64decode(DEV_PSEUDONYM_KEY),
            "CARELAY_TWILIO_AUTH_TOKEN": str(dev_t.auth_token).encode(),
            "CARELAY_META_ACCESS_TOKEN": str(dev_m.access_token).encode(),
            "CARELAY_META_APP_SECRET": str(dev_m.app_secret).encode(),
            "CARELAY_META_VERIFY_TOKEN": str(dev_m.verify_token).encode(),
            "CARELAY_CONSOLE_SESSION_KEY": DEV_CONSOLE_SESSION_KEY.encode(),
        }
        refused = production_refusals(given, development)
        if refused:
            raise ConfigError(f"{', '.join(refused)}: production refuses an empty or development value")
        if self.gateway.demo_api_keys:
            raise ConfigError("CARELAY_DEMO_API_KEYS: production refuses the demo API keys")
