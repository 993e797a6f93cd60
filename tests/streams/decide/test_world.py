"""What decisions see besides their records: the policy's per-priority deadlines and the world's defaults."""
import pytest

from streams.decide.ratelimit import Limit
from streams.decide.routing import WHATSAPP_WINDOW_MS
from streams.decide.world import NO_QUIET, Policy, World


@pytest.mark.parametrize(("policy", "priority", "deadline"), [
    pytest.param(Policy(), "NORMAL", 3_600_000, id="normal-an-hour"),
    pytest.param(Policy(), "URGENT", 120_000, id="urgent-two-minutes"),
    pytest.param(Policy(), "LOW", 3_600_000, id="any-other-priority-is-normal"),
    pytest.param(Policy(deadline_normal_ms=5, deadline_urgent_ms=1), "URGENT", 1, id="configured-urgent"),
    pytest.param(Policy(deadline_normal_ms=5, deadline_urgent_ms=1), "NORMAL", 5, id="configured-normal"),
])
def test_deadline_per_priority(policy: Policy, priority: str, deadline: int) -> None:
    assert policy.deadline_ms(priority) == deadline


def test_default_policy_limits() -> None:
    p = Policy()
    assert (p.recipient_hour, p.recipient_day, p.urgent_hour) == (
        Limit.per_window(3, 3600), Limit.per_window(6, 86400), Limit.per_window(10, 3600))
    assert p.whatsapp_window_ms == WHATSAPP_WINDOW_MS


def test_a_bare_world_has_no_senders_no_open_circuit_no_limit_and_no_quiet_hours() -> None:
    w = World(5)
    assert list(w.instances("org", "SMS")) == []
    assert (w.is_open("any"), w.reopens_at("any")) == (False, 0)
    assert not w.instance_limit("any").enabled
    assert w.quiet("org") == ("UTC", NO_QUIET)
