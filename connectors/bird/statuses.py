"""Bird's message status spellings (Channels API life-cycle) mapped onto the canonical statuses."""
from __future__ import annotations

from collections.abc import Mapping

STATUS: Mapping[str, str] = {
    "accepted": "queued", "scheduled": "queued", "processing": "queued", "sent": "sent",
    "delivered": "delivered", "read": "read", "sending_failed": "failed", "delivery_failed": "undelivered",
    "deleted": "cancelled",
}


def canonical(spelled: str) -> str | None:
    """The canonical status of a status as Bird spells it; None for one we do not track."""
    return STATUS.get(spelled.lower())
