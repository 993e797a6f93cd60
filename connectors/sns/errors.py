"""botocore error codes of SNS `Publish`, by what the caller must do next (connectors.errors.classify_with).

A code not listed falls back to its HTTP status (429 rate limited, 401/403 instance, 5xx retryable).
"""
from __future__ import annotations

from connectors.errors import (
    ErrorTable,
    FallbackError,
    FinalError,
    InstanceError,
    RateLimitedError,
    RetryableError,
)

# The patient opted out of SMS from this account (the delivery log's "Phone is currently opted out",
# or a refused Publish): a Capabilities.opt_out_codes code.
OPT_OUT = "OptedOut"

ERROR_MAP: ErrorTable = {
    "Throttling": RateLimitedError,         # request rate exceeded: slow down, retry with backoff
    "ThrottledException": RateLimitedError,  # spelled so by some SDK versions
    "InvalidParameter": FinalError,         # e.g. PhoneNumber not a valid E.164 number
    "InvalidParameterValue": FinalError,
    OPT_OUT: FinalError,
    "AuthorizationError": InstanceError,    # the credentials may not publish
    "InvalidClientTokenId": InstanceError,
    "SignatureDoesNotMatch": InstanceError,
    "InvalidSecurity": InstanceError,
    "KMSAccessDenied": InstanceError,
    "EndpointDisabled": FallbackError,
    "InternalError": RetryableError,
    "InternalFailure": RetryableError,
    "ServiceUnavailable": RetryableError,
    "UnknownError": RetryableError,         # the delivery log's generic failure
}
