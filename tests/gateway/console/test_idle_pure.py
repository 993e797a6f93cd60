"""How long a console session lasts without another request, and when the page warns of its end."""
from __future__ import annotations

import pytest

from gateway.console.sessions import Session, time_left_ms, warn_before_ms

IDLE, MAX = 900_000, 43_200_000


@pytest.mark.parametrize(("issued", "seen", "now", "left"), [
    pytest.param(0, 0, 0, IDLE, id="just-used"),
    pytest.param(0, 0, 600_000, 300_000, id="ten-idle-minutes"),
    pytest.param(0, 0, IDLE, 0, id="idle-limit-reached"),
    pytest.param(0, 0, IDLE + 5, 0, id="past-it-is-zero"),
    pytest.param(0, MAX - 60_000, MAX - 60_000, 60_000, id="shift-ends-before-idle"),
    pytest.param(0, MAX, MAX + 1, 0, id="past-the-shift"),
])
def test_time_left(issued, seen, now, left):
    assert time_left_ms(Session("s", "o", "u", issued, seen), now, IDLE, MAX) == left


@pytest.mark.parametrize(("idle", "warn"), [
    pytest.param(900_000, 120_000, id="fifteen-minutes-warns-two-before"),
    pytest.param(300_000, 60_000, id="a-fifth"),
    pytest.param(12_000, 5_000, id="at-least-five-seconds"),
    pytest.param(3_600_000, 120_000, id="at-most-two-minutes"),
])
def test_warn_before(idle, warn):
    assert warn_before_ms(idle) == warn
