"""The SMS delivery log's `status` spellings mapped onto the canonical statuses."""
from __future__ import annotations

from collections.abc import Mapping

STATUS: Mapping[str, str] = {"success": "delivered", "failure": "failed"}
# the delivery log's providerResponse of a failure -> our error code (connectors.sns.errors)
RESPONSES: Mapping[str, str] = {"phone is currently opted out": "OptedOut"}


def canonical(spelled: str) -> str | None:
    """The canonical status of a delivery log status; None for one we do not track."""
    return STATUS.get(spelled.lower())


def error_code(status: str, provider_response: str) -> str | None:
    """Our error code for a failed delivery: a known response, else UnknownError."""
    if status.lower() != "failure":
        return None
    return RESPONSES.get(provider_response.strip().lower(), "UnknownError")
