"""The provider-neutral connector interface: channel instances, outbound messages, send results, statuses.

Everything here is plain data. Each provider package (connectors/<provider>/) implements `Connector`,
declares its `Capabilities` and is registered in connectors.factory; the streams choose an instance
from the `ChannelDirectory` (connectors.instances) and call its connector.
"""
from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal, Protocol, runtime_checkable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

Channel = Literal["WHATSAPP", "SMS", "VOICE", "INAPP"]
CHANNELS: tuple[str, ...] = ("WHATSAPP", "SMS", "VOICE", "INAPP")

# Canonical statuses (ProviderStatus.status). Rank only orders the happy path; the terminal failures
# are branches, merged by the streams' state machine (design notes: "Status as a state machine").
# Each provider package maps its own spellings onto these (connectors/<provider>/statuses.py).
CANONICAL_STATUSES: tuple[str, ...] = (
    "queued", "sent", "delivered", "read", "failed", "undelivered", "expired", "cancelled",
)


@dataclass(frozen=True)
class Capabilities:
    """What the streams and the channel directory may count on from one provider, as plain data.

    Each provider package declares its own (connectors/<provider>/capabilities.py); the streams ask
    connectors.factory.capabilities(provider) instead of naming providers.
    """

    can_lookup: bool = False  # Connector.find_sent can answer after a crash; otherwise wait for a callback
    resend_harmless: bool = False  # a resent attempt cannot reach the patient twice: no grace period
    opt_out_codes: frozenset[str] = frozenset()  # error codes meaning "the patient opted out at the provider"
    # channel -> the reply keywords the provider answers itself on that channel (we then stay silent)
    carrier_keywords: Mapping[str, frozenset[str]] = field(default_factory=dict, hash=False)
    address_family: str | None = None  # directory index its receiving addresses live in; None: no address
    numeric_addresses: bool = False  # receiving addresses are phone numbers (else opaque ids, compared as given)

    def is_opt_out(self, code: str | None) -> bool:
        return code is not None and code in self.opt_out_codes

    def keywords_answered(self, channel: str) -> frozenset[str]:
        """The reply keywords the provider answers itself on `channel` (empty when it answers none)."""
        return self.carrier_keywords.get(channel, frozenset())


# Our references, carried to the provider and back (in a signed callback URL's query, or in an opaque
# field the provider echoes), always as the same urlencoded string.
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
    """One configured sender: a provider account + its address for us (a number or an id) for one channel."""

    id: str
    organization_id: str
    channel: str  # Channel
    provider: str  # a name connectors.factory registers (checked by the ChannelDirectory)
    sender: str  # the provider's address for us: a number, or an opaque id (see its package)
    credentials_ref: str = "default"
    per_second: float = 1.0
    # provider-specific extras, documented in the provider's package (e.g. template ids, display number)
    # and a display number; excluded from hashing so the instance stays usable as a dict key
    config: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)

    def __post_init__(self) -> None:
        if self.channel not in CHANNELS:
            raise ValueError(f"channel instance {self.id!r}: unknown channel {self.channel!r}")
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
    # the gateway's public base URL (GatewaySettings.public_url); the connector appends its own
    # webhook path and our references. None: no callbacks (tests, polling only).
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
        or when the provider has no lookup (Capabilities.can_lookup): the caller then waits for a
        status callback."""
        ...

    async def aclose(self) -> None: ...
