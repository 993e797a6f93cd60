"""The delay topics' steps: a wait parks on the largest step not longer than what is left."""
from __future__ import annotations

import pytest

from streams.agents.delay import STEPS_MS, step_index


@pytest.mark.parametrize(("remaining", "step"), [
    (0, 1_000), (999, 1_000), (1_000, 1_000), (9_999, 1_000), (10_000, 10_000), (119_000, 60_000),
    (1_200_000, 600_000), (3_600_000, 3_600_000), (86_400_000, 3_600_000),
])
def test_a_wait_parks_on_the_largest_step_not_longer_than_it(remaining: int, step: int) -> None:
    assert STEPS_MS[step_index(remaining)] == step
