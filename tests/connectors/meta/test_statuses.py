"""The Cloud API's status spellings -> canonical statuses."""
from __future__ import annotations

import pytest

from connectors.base import CANONICAL_STATUSES
from connectors.meta.statuses import STATUS, canonical

CASES = [("sent", "sent"), ("delivered", "delivered"), ("read", "read"), ("played", "read"), ("failed", "failed"),
         ("deleted", "cancelled"), ("READ", "read"), ("warning", None)]


@pytest.mark.parametrize(("spelled", "expected"), CASES, ids=[c[0] for c in CASES])
def test_canonical(spelled: str, expected: str | None) -> None:
    assert canonical(spelled) == expected


def test_every_spelling_lands_on_a_canonical_status() -> None:
    assert set(STATUS.values()) <= set(CANONICAL_STATUSES)
