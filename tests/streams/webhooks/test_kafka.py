"""Commit tracking of the delivery lanes: never past a record still in hand."""
from __future__ import annotations

import pytest

from streams.webhooks.kafka import Offsets


@pytest.mark.parametrize(("taken", "finished", "expected"), [
    pytest.param([], [], {}, id="nothing-read"),
    pytest.param([(0, 5), (0, 6)], [(0, 5), (0, 6)], {0: 7}, id="all-done-next-offset"),
    pytest.param([(0, 5), (0, 6), (0, 7)], [(0, 6), (0, 7)], {0: 5}, id="oldest-still-in-hand"),
    pytest.param([(0, 5), (1, 9)], [(1, 9)], {0: 5, 1: 10}, id="partitions-apart"),
])
def test_committable(taken, finished, expected):
    offsets = Offsets()
    for p, o in taken:
        offsets.took(p, o)
    for p, o in finished:
        offsets.finished(p, o)
    assert offsets.committable() == expected
