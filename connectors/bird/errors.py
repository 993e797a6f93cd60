"""Bird API error codes (the `code` of an error body), by what the caller must do next
(connectors.errors.classify_with); a code not listed goes by its HTTP status."""
from __future__ import annotations

from connectors.errors import ErrorTable, FallbackError, FinalError, InstanceError, RetryableError

ERROR_MAP: ErrorTable = {
    "InvalidPayload": FinalError,          # 422: e.g. a receiver that is not a phone number
    # 401 (a wrong access key), 403 (a key that may not use the channel) and 429 go by their HTTP status
    "NotFound": InstanceError,             # 404: the workspace or channel does not exist
    "ChannelNotActive": InstanceError,
    "InternalServerError": RetryableError,
    # a failed message's `reason` in a status event
    "delivery_failed": FallbackError,      # the carrier or WhatsApp could not deliver it
    "sending_failed": RetryableError,      # Bird could not hand it over
}
