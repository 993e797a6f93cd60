"""Twilio's status spellings mapped onto the canonical statuses (connectors.base.CANONICAL_STATUSES)."""
from __future__ import annotations

from collections.abc import Mapping

# Unknown spellings map to None: the caller drops them (inbound `receiving`/`received` never reach
# the status path).
MESSAGE_STATUS: Mapping[str, str] = {
    "accepted": "queued", "scheduled": "queued", "queued": "queued", "sending": "queued",
    "sent": "sent", "delivered": "delivered", "read": "read",
    "partially_delivered": "delivered", "undelivered": "undelivered", "failed": "failed",
    "canceled": "cancelled",
}
# Voice: a completed call was answered, so the script was delivered (played); the patient's
# keypress arrives separately as a gather (an inbound DIGITS message).
CALL_STATUS: Mapping[str, str] = {
    "queued": "queued", "initiated": "queued", "ringing": "sent", "in-progress": "delivered",
    "completed": "delivered", "busy": "undelivered", "no-answer": "undelivered",
    "failed": "failed", "canceled": "cancelled",
}


def message_status(spelled: str) -> str | None:
    """The canonical status of a message status as Twilio spells it, or None."""
    return MESSAGE_STATUS.get(spelled.lower())


def call_status(spelled: str) -> str | None:
    """The canonical status of a call status as Twilio spells it, or None."""
    return CALL_STATUS.get(spelled.lower())
