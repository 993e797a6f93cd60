"""Settings of the HTTP gateway and the staff console."""
from __future__ import annotations

from dataclasses import dataclass

from starlette.datastructures import Secret

from schemas.settings.declare import FLAG, POSITIVE, SECRET, URL, integer, setting
from schemas.settings.keys import DEV_CONSOLE_SESSION_KEY, DEV_PATIENT_LINK_KEY, HMAC_KEY


@dataclass(frozen=True)
class GatewaySettings:
    """Gateway (HTTP API and provider webhooks)"""

    host: str = setting("CARELAY_GATEWAY_HOST", "127.0.0.1", "address the gateway listens on")
    port: int = setting("CARELAY_GATEWAY_PORT", 8000, "port the gateway listens on", kind=integer())
    public_url: str = setting(
        "CARELAY_PUBLIC_URL", "http://127.0.0.1:8000",
        "the gateway's URL as providers call it (Twilio signs it); a trailing `/` is dropped", kind=URL)
    max_body_bytes: int = setting(
        "CARELAY_GATEWAY_MAX_BODY_BYTES", 1_000_000, "request body limit", kind=integer(), unit="bytes")
    max_batch_items: int = setting(
        "CARELAY_GATEWAY_MAX_BATCH_ITEMS", 1000, "items per batch send", kind=integer())
    api_keys_file: str = setting(
        "CARELAY_API_KEYS_FILE", "", "JSON file of hashed API keys; required unless `CARELAY_DEMO_API_KEYS`")
    demo_api_keys: bool = setting(
        "CARELAY_DEMO_API_KEYS", False, "`true`: without a key file, the demo keys of gateway/README.md "
        "(`make run` and the tests set it); refused in production", kind=FLAG)
    staff_view_size: int = setting(
        "CARELAY_GATEWAY_STAFF_VIEW_SIZE", 1000, "staff notifications each gateway process keeps in memory per "
        "organization (the newest; `GET /v1/staff/notifications`)", kind=integer(1))
    unseen_after_s: float = setting(
        "CARELAY_GATEWAY_UNSEEN_AFTER_S", 60.0, "an accepted send still without a state from the stream workers "
        "this long after is counted in `carelay_gateway_unseen_accepts_total` and named in a warning: the "
        "pipeline is far behind or lost it (`gateway/unseen.py`)", kind=POSITIVE, unit="s")
    linger_ms: int = setting(
        "CARELAY_GATEWAY_LINGER_MS", 2, "the gateway's producer batching delay: every accept waits it out before "
        "the broker's acknowledgement, so it is most of a send's answer time below saturation (README "
        "Benchmark); under load batches fill before it anyway. The workers and the sink batch for throughput "
        "(`CARELAY_KAFKA_LINGER_MS`)", kind=integer(), unit="ms")
    queue_max_messages: int = setting(
        "CARELAY_GATEWAY_QUEUE_MAX_MESSAGES", 100_000, "records the gateway's send producer holds while waiting "
        "for the broker (librdkafka `queue.buffering.max.messages`); when full, a send is `503`",
        kind=integer(1), unit="records")
    audit_queue_max_messages: int = setting(
        "CARELAY_GATEWAY_AUDIT_QUEUE_MAX_MESSAGES", 10_000, "the same bound for the audit producer (records "
        "nobody waits for: refusal counts, rejections, callback tallies); a record it cannot take is counted in "
        "`carelay_gateway_audit_records_lost_total`, never a send's `503` (`gateway/audit.py`)",
        kind=integer(1), unit="records")
    refusals_per_minute: int = setting(
        "CARELAY_GATEWAY_REFUSALS_PER_MINUTE", 120, "refusals (401, 403, bad signatures, failed handshakes) per "
        "source address per minute; beyond it that source's refusals are `429` with `Retry-After` "
        "(`docs/security.md`); `0`: no limit", kind=integer(0), unit="per minute")


@dataclass(frozen=True)
class ConsoleSettings:
    """Staff console (gateway/console): sessions and lock-out"""

    session_key: Secret = setting(
        "CARELAY_CONSOLE_SESSION_KEY", Secret(DEV_CONSOLE_SESSION_KEY), "signs the staff console's session "
        "cookies ([console.md](console.md)); never empty, required in production", kind=SECRET,
        shown="a development key")
    idle_s: int = setting(
        "CARELAY_CONSOLE_IDLE_S", 900, "a console session ends after this long without a request "
        "(45 CFR 164.312(a)(2)(iii)); the page warns a fifth of it before (5 s to 2 min) and then goes to the "
        "sign-in page by itself", kind=integer(10), unit="s")
    session_max_s: int = setting(
        "CARELAY_CONSOLE_SESSION_MAX_S", 12 * 3600, "... and after this long in any case (a day's shift)",
        kind=integer(60), unit="s")
    lockout_failures: int = setting(
        "CARELAY_CONSOLE_LOCKOUT_FAILURES", 5, "failed sign-ins in a row that lock a console account ...",
        kind=integer(1))
    lockout_s: int = setting(
        "CARELAY_CONSOLE_LOCKOUT_S", 1800, "... for this long, or until `carelay users unlock`",
        kind=integer(1), unit="s")


@dataclass(frozen=True)
class PatientPageSettings:
    """The patient page (gateway/patient): its links"""

    link_key: Secret = setting(
        "CARELAY_PATIENT_LINK_KEY", Secret(DEV_PATIENT_LINK_KEY), "signs the patient page's link tokens "
        "([patient-page.md](patient-page.md)); required in production", kind=HMAC_KEY, shown="a development key")
    link_ttl_s: int = setting(
        "CARELAY_PATIENT_LINK_TTL_S", 7 * 86400, "a patient page link works this long after it was made "
        "(at most 30 days: the `patient.links` topic's retention)", kind=integer(60), unit="s")
    guesses_per_minute: int = setting(
        "CARELAY_PATIENT_LINK_GUESSES_PER_MINUTE", 20, "links that open nothing (forged, expired, revoked, "
        "unknown, another device's) per source address per minute; beyond it every link from that address is "
        "`429` until the minute ends", kind=integer(1), unit="per minute")
