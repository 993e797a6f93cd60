"""Twilio's status spellings -> canonical statuses (messages and calls)."""
from __future__ import annotations

import pytest

from connectors.base import CANONICAL_STATUSES
from connectors.twilio.statuses import CALL_STATUS, MESSAGE_STATUS, call_status, message_status

MESSAGES = [
    ("accepted", "queued"), ("scheduled", "queued"), ("queued", "queued"), ("sending", "queued"), ("sent", "sent"),
    ("delivered", "delivered"), ("read", "read"), ("undelivered", "undelivered"), ("failed", "failed"),
    ("canceled", "cancelled"), ("received", None), ("DELIVERED", "delivered"),
]
CALLS = [("completed", "delivered"), ("no-answer", "undelivered"), ("ringing", "sent"), ("received", None)]


@pytest.mark.parametrize(("spelled", "canonical"), MESSAGES, ids=[m[0] for m in MESSAGES])
def test_message_status(spelled: str, canonical: str | None) -> None:
    assert message_status(spelled) == canonical


@pytest.mark.parametrize(("spelled", "canonical"), CALLS, ids=[c[0] for c in CALLS])
def test_call_status(spelled: str, canonical: str | None) -> None:
    assert call_status(spelled) == canonical


def test_every_spelling_lands_on_a_canonical_status() -> None:
    assert set(MESSAGE_STATUS.values()) | set(CALL_STATUS.values()) <= set(CANONICAL_STATUSES)
