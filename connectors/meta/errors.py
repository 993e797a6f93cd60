"""Graph API error codes, by what the caller must do next (applied by connectors.errors.classify_with)."""
from __future__ import annotations

from connectors.errors import (
    ErrorTable,
    FallbackError,
    FinalError,
    InstanceError,
    RateLimitedError,
    RetryableError,
)

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
