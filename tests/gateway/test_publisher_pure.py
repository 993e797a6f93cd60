"""When the loop poller polls: not during the linger of the oldest record in flight, then every millisecond."""
from __future__ import annotations

import pytest

from gateway.publisher import BUSY_TICK_S, IDLE_TICK_S, next_poll_in

LINGER = 0.005


def test_a_fresh_record_is_polled_for_once_it_has_lingered():
    assert next_poll_in(10.0, 10.0, LINGER, 1) == pytest.approx(LINGER)
    assert next_poll_in(10.002, 10.0, LINGER, 3) == pytest.approx(0.003)


def test_past_the_linger_it_polls_every_millisecond():
    assert next_poll_in(10.005, 10.0, LINGER, 1) == BUSY_TICK_S
    assert next_poll_in(12.0, 10.0, LINGER, 1) == BUSY_TICK_S
    assert next_poll_in(10.0, 10.0, 0.0, 1) == BUSY_TICK_S  # linger.ms 0


def test_records_of_other_loops_keep_the_millisecond_poll_and_nothing_queued_idles():
    assert next_poll_in(10.0, None, LINGER, 2) == BUSY_TICK_S
    assert next_poll_in(10.0, None, LINGER, 0) == IDLE_TICK_S
