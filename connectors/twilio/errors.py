"""Twilio's error codes, by what the caller must do next (applied by connectors.errors.classify_with)."""
from __future__ import annotations

from connectors.errors import (
    ErrorTable,
    FallbackError,
    FinalError,
    InstanceError,
    RateLimitedError,
    RetryableError,
)

OPT_OUT = "21610"  # the number replied STOP at carrier level: no channel may message it
ERROR_MAP: ErrorTable = {
    OPT_OUT: FinalError,         # recipient unsubscribed (STOP)
    "21211": FinalError,         # invalid 'To' number
    "21614": FinalError,         # 'To' is not a valid mobile number
    "21408": FallbackError,      # permission to send to this region not enabled
    "21612": FallbackError,      # cannot route to this number
    "30003": FallbackError,      # unreachable handset
    "30005": FallbackError,      # unknown destination
    "30006": FallbackError,      # landline or unreachable carrier
    "30007": FallbackError,      # carrier filtered
    "30008": RetryableError,     # unknown error
    "63016": FallbackError,      # WhatsApp free-form outside the 24 h window: template or other channel
    "63024": FallbackError,      # invalid WhatsApp recipient
    "63003": FallbackError,      # channel could not find the To address
    "20429": RateLimitedError,   # too many requests
    "63018": RateLimitedError,   # WhatsApp rate limit exceeded
    "20003": InstanceError,      # authentication failed
    "30034": InstanceError,      # unregistered A2P 10DLC sender
    "21701": InstanceError,      # the instance's Messaging Service does not exist
    "21703": InstanceError,      # the Messaging Service has no phone numbers (sender pool empty)
}
