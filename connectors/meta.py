"""WhatsApp Cloud API connector (Meta directly, or 360dialog by configuration) and its webhook parsing.

Sends over a pooled httpx.AsyncClient; parsing and signature checks are pure functions over the
webhook JSON, used by the gateway (verify, split) and the streams (parse into canonical events).
"""
from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from connectors.errors import ErrorTable, FallbackError, FinalError, InstanceError, RateLimitedError, RetryableError

PROVIDER = "meta"
API_VERSION = "v21.0"  # default; MetaSettings.api_version overrides
MAX_REPLY_BUTTONS = 3
MAX_BUTTON_TITLE = 20
MAX_LIST_ROWS = 10
MAX_TEXT_CHARS = 4096
MAX_OPAQUE_CHARS = 512  # biz_opaque_callback_data
DEFAULT_PER_SECOND = 80.0  # per phone number; up to 1,000 after an upgrade
CONNECT_TIMEOUT_S = 3.0
READ_TIMEOUT_S = 10.0
POOL_LIMIT = 100

# Graph API error code -> what the caller must do (connectors.errors.classify_with).
ERROR_MAP: ErrorTable = {
    "131047": FallbackError,     # re-engagement required: outside the 24 h window, template needed
    "131026": FallbackError,     # message undeliverable (no WhatsApp, old app, ...)
    "131049": FallbackError,     # Meta chose not to deliver (ecosystem engagement)
    "131051": FinalError,        # unsupported message type
    "131021": FinalError,        # recipient cannot be the sender
    "131008": FallbackError,     # required parameter missing
    "131009": FallbackError,     # parameter value invalid
    "132000": FallbackError,     # template parameter count mismatch
    "132001": FallbackError,     # template does not exist in this language
    "130429": RateLimitedError,  # cloud API throughput exceeded
    "131056": RateLimitedError,  # pair rate limit: too many messages to this recipient
    "131048": RateLimitedError,  # spam rate limit hit
    "80007": RateLimitedError,   # WABA rate limit
    "4": RateLimitedError,       # application request limit
    "131000": RetryableError,    # something went wrong
    "1": RetryableError,         # unknown API error
    "2": RetryableError,         # temporary service unavailability
    "368": InstanceError,        # temporarily blocked for policy violations: fall back, open the circuit
    "190": InstanceError,        # access token expired / invalid
    "131005": InstanceError,     # access denied (permission)
    "131042": InstanceError,     # business eligibility payment issue
    "133010": InstanceError,     # phone number not registered on the Cloud API
}
SIGNATURE_HEADER = "X-Hub-Signature-256"


def verify_signature(app_secret: bytes, raw_body: bytes, header: str | None) -> bool:
    """X-Hub-Signature-256 = 'sha256=' + hex HMAC-SHA256(app_secret, raw body); constant-time compare."""
    if not header or not app_secret:
        return False
    scheme, _, received = header.strip().partition("=")
    if scheme.lower() != "sha256" or not received:
        return False
    expected = hmac.new(app_secret, raw_body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), received.strip().lower().encode())


def sign(app_secret: bytes, raw_body: bytes) -> str:
    """The header value Meta would send for `raw_body` (the simulator and tests sign with it)."""
    return "sha256=" + hmac.new(app_secret, raw_body, hashlib.sha256).hexdigest()


def split_webhook(body: Mapping[str, Any]) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """One (kind, item, metadata) per status, message or error in a webhook POST.

    kind: "status" | "message" | "error". metadata: {phone_number_id, display_phone_number,
    waba_id, field}. Contacts (profile names: PHI) are deliberately not copied; a message's `from`
    already identifies the patient. Unknown shapes yield nothing rather than raising.
    """
    out: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
    if not isinstance(body, Mapping):
        return out
    for entry in _dicts(body.get("entry")):
        for change in _dicts(entry.get("changes")):
            value = change.get("value")
            if not isinstance(value, Mapping):
                continue
            raw_meta = value.get("metadata")
            meta: Mapping[str, Any] = raw_meta if isinstance(raw_meta, Mapping) else {}
            metadata = {
                "phone_number_id": str(meta.get("phone_number_id", "")),
                "display_phone_number": str(meta.get("display_phone_number", "")),
                "waba_id": str(entry.get("id", "")),
                "field": str(change.get("field", "")),
            }
            for kind, key in (("status", "statuses"), ("message", "messages"), ("error", "errors")):
                for item in _dicts(value.get(key)):
                    out.append((kind, dict(item), dict(metadata)))
    return out


def _dicts(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []
