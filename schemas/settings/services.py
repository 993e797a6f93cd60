"""Settings of the services carelay talks to: Kafka, ClickHouse, Twilio, Meta's WhatsApp Cloud API."""
from __future__ import annotations

from dataclasses import dataclass

from starlette.datastructures import Secret

from schemas.secrets import SecretUrl
from schemas.settings.declare import POSITIVE, SECRET, integer, setting

NEVER_EMPTY = "never empty, required in production"


@dataclass(frozen=True)
class KafkaSettings:
    """Kafka and the schema registry"""

    bootstrap: str = setting("CARELAY_KAFKA_BOOTSTRAP", "127.0.0.1:9092", "Kafka bootstrap servers")
    schema_registry_url: str = setting(
        "CARELAY_SCHEMA_REGISTRY_URL", "http://127.0.0.1:8081/apis/ccompat/v7",
        "Confluent-compatible registry (`inprocess` for single-process tools only)")
    topic_prefix: str = setting("CARELAY_TOPIC_PREFIX", "carelay.", "prefix of every topic name")
    partitions: int = setting("CARELAY_KAFKA_PARTITIONS", 6, "partitions of new topics", kind=integer())
    replication_factor: int = setting(
        "CARELAY_KAFKA_REPLICATION_FACTOR", 1, "replication factor of new topics (3 in production)", kind=integer())
    send_timeout_s: float = setting(
        "CARELAY_KAFKA_SEND_TIMEOUT_S", 5.0, "how long the gateway waits for the broker before answering 503",
        kind=POSITIVE, unit="s")
    linger_ms: int = setting(
        "CARELAY_KAFKA_LINGER_MS", 5, "producer batching delay of the stream workers and the analytics sink",
        kind=integer(), unit="ms")


@dataclass(frozen=True)
class ClickHouseSettings:
    """ClickHouse (analytics store)"""

    # May hold a password, so a SecretUrl (its repr masks it).
    url: str = setting(
        "CARELAY_CLICKHOUSE_URL", "", "ClickHouse server URL (`http://user:pass@host:8123/db`); empty: the "
        "embedded chdb engine at `CARELAY_CLICKHOUSE_PATH`")
    path: str = setting("CARELAY_CLICKHOUSE_PATH", "var/chdb", "embedded ClickHouse data directory")
    event_ttl_days: int = setting(
        "CARELAY_CLICKHOUSE_EVENT_TTL_DAYS", 400, "retention of lifecycle events", kind=integer(), unit="days")
    state_ttl_days: int = setting(
        "CARELAY_CLICKHOUSE_STATE_TTL_DAYS", 400, "retention of per-message state", kind=integer(), unit="days")
    audit_ttl_days: int = setting(
        "CARELAY_CLICKHOUSE_AUDIT_TTL_DAYS", 2190, "retention of the audit log (six years: HIPAA documentation "
        "retention)", kind=integer(), unit="days")

    def __post_init__(self) -> None:
        object.__setattr__(self, "url", SecretUrl(self.url))


@dataclass(frozen=True)
class TwilioSettings:
    """Twilio (SMS, WhatsApp, voice)"""

    account_sid: str = setting(
        "CARELAY_TWILIO_ACCOUNT_SID", "AC00000000000000000000000000000000", "Twilio account", shown="a test SID")
    auth_token: Secret = setting(
        "CARELAY_TWILIO_AUTH_TOKEN", Secret("dev-twilio-auth-token"),
        f"Twilio auth token (also validates webhooks); {NEVER_EMPTY}", kind=SECRET)
    base_url: str = setting(
        "CARELAY_TWILIO_BASE_URL", "", "Twilio API base URL; empty: api.twilio.com; the simulator in tests and "
        "`make run`")
    sms_from: str = setting("CARELAY_TWILIO_SMS_FROM", "+15005550006", "SMS sender number")
    whatsapp_from: str = setting("CARELAY_TWILIO_WHATSAPP_FROM", "+15005550007", "WhatsApp sender number")
    voice_from: str = setting("CARELAY_TWILIO_VOICE_FROM", "+15005550008", "voice caller number")
    sms_per_second: float = setting(
        "CARELAY_TWILIO_SMS_PER_SECOND", 1.0, "long-code throughput", kind=POSITIVE, unit="messages/s")
    whatsapp_per_second: float = setting(
        "CARELAY_TWILIO_WHATSAPP_PER_SECOND", 20.0, "WhatsApp-via-Twilio throughput per sender", kind=POSITIVE,
        unit="messages/s")


@dataclass(frozen=True)
class MetaSettings:
    """Meta WhatsApp Cloud API (or 360dialog)"""

    access_token: Secret = setting(
        "CARELAY_META_ACCESS_TOKEN", Secret("dev-meta-access-token"), f"Cloud API bearer token; {NEVER_EMPTY}",
        kind=SECRET)
    app_secret: Secret = setting(
        "CARELAY_META_APP_SECRET", Secret("dev-meta-app-secret"),
        f"validates `X-Hub-Signature-256`; {NEVER_EMPTY}", kind=SECRET)
    verify_token: Secret = setting(
        "CARELAY_META_VERIFY_TOKEN", Secret("dev-meta-verify-token"),
        f"webhook verification handshake; {NEVER_EMPTY}", kind=SECRET)
    base_url: str = setting(
        "CARELAY_META_BASE_URL", "https://graph.facebook.com", "Cloud API base URL (360dialog: its own)")
    api_version: str = setting("CARELAY_META_API_VERSION", "v21.0", "Graph API version")
    phone_number_id: str = setting(
        "CARELAY_META_PHONE_NUMBER_ID", "100000000000001", "sending phone number id", shown="a test id")
    waba_id: str = setting(
        "CARELAY_META_WABA_ID", "100000000000002",
        "WhatsApp Business Account id: where templates are submitted for review", shown="a test id")
    auth_header: str = setting(
        "CARELAY_META_AUTH_HEADER", "Authorization", "header carrying the token (`D360-API-KEY` for 360dialog)")
    per_second: float = setting(
        "CARELAY_META_PER_SECOND", 80.0, "Cloud API throughput per number", kind=POSITIVE, unit="messages/s")


@dataclass(frozen=True)
class SnsSettings:
    """Amazon SNS (SMS)"""

    endpoint_url: str = setting(
        "CARELAY_SNS_ENDPOINT_URL", "", "SNS API endpoint; empty: AWS's endpoint of the region; the simulator's "
        "`<url>/sns` in tests and the demo")
    region: str = setting("CARELAY_SNS_REGION", "us-east-1", "AWS region of the SNS account")
    access_key_id: str = setting(
        "CARELAY_SNS_ACCESS_KEY_ID", "AKIADEVCARELAY000000", "AWS access key id", shown="a test key id")
    secret_access_key: Secret = setting(
        "CARELAY_SNS_SECRET_ACCESS_KEY", Secret("dev-sns-secret-access-key"),
        f"AWS secret access key; {NEVER_EMPTY}", kind=SECRET)
    sms_type: str = setting("CARELAY_SNS_SMS_TYPE", "Transactional", "`AWS.SNS.SMS.SMSType` of every send")
    status_topic_arn: str = setting(
        "CARELAY_SNS_STATUS_TOPIC_ARN", "arn:aws:sns:us-east-1:000000000000:carelay-sms-status",
        "the topic whose HTTPS subscription posts SMS delivery reports; other topics are refused")
    signing_cert_file: str = setting(
        "CARELAY_SNS_SIGNING_CERT_FILE", "", "PEM of the certificate SNS signs notifications with (the one at "
        "`SigningCertURL`); empty: every SNS notification is refused")
    per_second: float = setting(
        "CARELAY_SNS_PER_SECOND", 20.0, "SMS throughput of an SNS sender", kind=POSITIVE, unit="messages/s")


@dataclass(frozen=True)
class BirdSettings:
    """Bird (MessageBird) Channels API (SMS, WhatsApp)"""

    base_url: str = setting("CARELAY_BIRD_BASE_URL", "https://api.bird.com", "Bird API base URL; the simulator "
                            "in tests and `make run`")
    access_key: Secret = setting(
        "CARELAY_BIRD_ACCESS_KEY", Secret("dev-bird-access-key"), f"Bird access key; {NEVER_EMPTY}", kind=SECRET)
    workspace_id: str = setting(
        "CARELAY_BIRD_WORKSPACE_ID", "00000000-0000-0000-0000-00000000b1rd", "Bird workspace the channels belong to",
        shown="a test id")
    signing_key: Secret = setting(
        "CARELAY_BIRD_SIGNING_KEY", Secret("dev-bird-signing-key"),
        f"the webhook subscription's signing key (validates `messagebird-signature`); {NEVER_EMPTY}", kind=SECRET)
    per_second: float = setting(
        "CARELAY_BIRD_PER_SECOND", 20.0, "throughput of a Bird channel", kind=POSITIVE, unit="messages/s")
