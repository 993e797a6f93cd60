"""The Cloud API's status spellings mapped onto the canonical statuses (connectors.base.CANONICAL_STATUSES)."""
from __future__ import annotations

from collections.abc import Mapping

STATUS: Mapping[str, str] = {
    "sent": "sent", "delivered": "delivered", "read": "read", "played": "read", "failed": "failed",
    "deleted": "cancelled",
}


def canonical(spelled: str) -> str | None:
    """The canonical status of a status as the Cloud API spells it; None for one we do not track."""
    return STATUS.get(spelled.lower())
