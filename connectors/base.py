"""The provider-neutral connector interface: channel instances, outbound messages, send results, statuses.

Everything here is plain data. Provider modules (twilio, meta, inapp) implement `Connector`; the
streams choose an instance from the `ChannelDirectory` (connectors.instances) and call it.
"""
from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal, Protocol, runtime_checkable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

Channel = Literal["WHATSAPP", "SMS", "VOICE", "INAPP"]
Provider = Literal["twilio", "meta", "d360", "inapp"]
CHANNELS: tuple[str, ...] = ("WHATSAPP", "SMS", "VOICE", "INAPP")
PROVIDERS: tuple[str, ...] = ("twilio", "meta", "d360", "inapp")

# Canonical statuses (ProviderStatus.status). Rank only orders the happy path; the terminal failures
# are branches, merged by the streams' state machine (design notes: "Status as a state machine").
CANONICAL_STATUSES: tuple[str, ...] = (
    "queued", "sent", "delivered", "read", "failed", "undelivered", "expired", "cancelled",
)
TERMINAL_FAILURES: frozenset[str] = frozenset({"failed", "undelivered", "expired", "cancelled"})

# Provider status spelling -> canonical status. Unknown spellings map to None: the caller drops
# them (e.g. Twilio's inbound `receiving`/`received` never reach the status path).
TWILIO_MESSAGE_STATUS: Mapping[str, str] = {
    "accepted": "queued", "scheduled": "queued", "queued": "queued", "sending": "queued",
    "sent": "sent", "delivered": "delivered", "read": "read",
    "partially_delivered": "delivered", "undelivered": "undelivered", "failed": "failed",
    "canceled": "cancelled",
}
# Voice: a completed call was answered, so the script was delivered (played); the patient's
# keypress arrives separately as a gather (an inbound DIGITS message).
TWILIO_CALL_STATUS: Mapping[str, str] = {
    "queued": "queued", "initiated": "queued", "ringing": "sent", "in-progress": "delivered",
    "completed": "delivered", "busy": "undelivered", "no-answer": "undelivered",
    "failed": "failed", "canceled": "cancelled",
}
META_STATUS: Mapping[str, str] = {
    "sent": "sent", "delivered": "delivered", "read": "read", "played": "read", "failed": "failed",
    "deleted": "cancelled",
}
STATUS_MAPS: Mapping[str, Mapping[str, str]] = {
    "twilio": TWILIO_MESSAGE_STATUS, "twilio_call": TWILIO_CALL_STATUS, "meta": META_STATUS,
    "d360": META_STATUS,
}


def canonical_status(provider: str, provider_status: str) -> str | None:
    """The canonical status for a provider's spelling ('twilio_call' for Twilio voice), or None."""
    return STATUS_MAPS.get(provider, {}).get(provider_status.lower())


# Where providers call the gateway, relative to GatewaySettings.public_url. The connectors build
# per-message callback URLs from these; the gateway mounts its endpoints on the same paths.
WEBHOOK_PATHS: Mapping[str, str] = {
    "twilio_status": "/webhooks/twilio/status",        # message status callbacks (form post)
    "twilio_inbound": "/webhooks/twilio/inbound",      # patient SMS / WhatsApp messages (form post)
    "twilio_call_status": "/webhooks/twilio/voice/status",  # call progress (form post)
    "twilio_gather": "/webhooks/twilio/voice/gather",  # keypad answer to a voice question; reply TwiML
    "meta": "/webhooks/meta",                          # Meta / 360dialog JSON webhooks (GET verify + POST)
}

# Our references, carried to the provider and back: Twilio in the (signed) callback URL query,
# Meta in biz_opaque_callback_data, both as the same urlencoded string.
REF_KEYS: tuple[str, str, str] = ("org", "message_id", "attempt_id")


def encode_refs(organization_id: str, message_id: str, attempt_id: str) -> str:
    return urlencode({"org": organization_id, "message_id": message_id, "attempt_id": attempt_id})


def decode_refs(text: str | None) -> dict[str, str]:
    """The reference keys found in a query string or opaque string; unknown keys are ignored."""
    if not text:
        return {}
    return {k: v for k, v in parse_qsl(text, keep_blank_values=False) if k in REF_KEYS}


def with_refs(url: str, organization_id: str, message_id: str, attempt_id: str) -> str:
    """`url` with our references appended to its query (existing query parameters are kept)."""
    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, encode_refs(organization_id, message_id, attempt_id)) if q)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


@cache
def tls_context() -> ssl.SSLContext:
    """One verifying TLS context (certifi's CA bundle) shared by every connector's HTTP pool: loading
    the bundle costs tens of milliseconds per client otherwise."""
    import certifi

    return ssl.create_default_context(cafile=certifi.where())


@dataclass(frozen=True)
class ChannelInstance:
    """One configured sender: a provider account + number (or Meta phone_number_id) for one channel."""

    id: str
    organization_id: str
    channel: str  # Channel
    provider: str  # Provider
    sender: str  # E.164 for Twilio, phone_number_id for Meta/360dialog, "inapp" for the app
    credentials_ref: str = "default"
    per_second: float = 1.0
    # provider-specific extras, e.g. Twilio `content_sids` {"template:lang": "HX..."}, Meta
    # `display_phone_number`; excluded from hashing so the instance stays usable as a dict key
    config: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)

    def __post_init__(self) -> None:
        if self.channel not in CHANNELS:
            raise ValueError(f"channel instance {self.id!r}: unknown channel {self.channel!r}")
        if self.provider not in PROVIDERS:
            raise ValueError(f"channel instance {self.id!r}: unknown provider {self.provider!r}")
        if self.per_second <= 0:
            raise ValueError(f"channel instance {self.id!r}: per_second must be positive")


@dataclass(frozen=True)
class OutboundMessage:
    """One attempt to send, with the patient's number in clear (memory only: never log or publish it).

    PHI fields (`to`, `params`, `text`) are left out of repr so that logging the object is safe.
    """

    message_id: str
    attempt_id: str
    organization_id: str
    recipient_id: str
    to: str = field(repr=False)  # E.164
    channel: str
    language: str = "es"
    template: str | None = None
    params: Mapping[str, str] = field(default_factory=dict, repr=False, hash=False)
    text: str | None = field(default=None, repr=False)
    use_template: bool = True
    asks: str | None = None  # "confirm_cancel": buttons / keypad question
    # the gateway's public base URL (GatewaySettings.public_url); the connector appends a
    # WEBHOOK_PATHS path and our references. None: no callbacks (tests, polling only).
    callback_url: str | None = None

    def refs(self) -> str:
        return encode_refs(self.organization_id, self.message_id, self.attempt_id)


@dataclass(frozen=True)
class SendResult:
    provider_message_id: str
    status: str  # canonical
    provider_status: str  # as the provider spelled it


@runtime_checkable
class Connector(Protocol):
    """What the streams call. Errors are connectors.errors.ProviderError subclasses, nothing else."""

    provider: str

    async def send(self, instance: ChannelInstance, msg: OutboundMessage) -> SendResult:
        """Send one attempt. Raises RetryableError/RateLimitedError/FallbackError/FinalError."""
        ...

    async def fetch_status(self, instance: ChannelInstance, provider_message_id: str) -> dict[str, Any]:
        """Poll the provider: canonical ProviderStatus-like fields (provider_message_id, status,
        provider_status, error_code, error_class, occurred_at, price_micros, price_currency)."""
        ...

    async def find_sent(self, instance: ChannelInstance, msg: OutboundMessage, since_ms: int) -> SendResult | None:
        """In-doubt lookup after a crash: did this attempt reach the provider? None when not found
        or when the provider has no lookup (Meta): the caller then waits for a status callback."""
        ...

    async def aclose(self) -> None: ...
