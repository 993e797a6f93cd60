from dataclasses import replace

from streams.decide.dispatch import Failure, Screen, accepted, failed, mark_in_flight, screen
from streams.decide.intake import decide as intake
from streams.decide.lifecycle import finish
from streams.decide.records import Ledger, Message, Patient
from streams.decide.recovery import reissue_after_assignment

from .helpers import request, world

ROUTED = 1_000_000
ASSIGNED = ROUTED + 60_000  # the successor's assignment, a minute after the routing
GRACE = 120_000


def routed(at: int = ROUTED) -> Message:
    d = intake(Patient(), None, request(), world(at), {})
    assert d.message is not None
    return replace(d.message, command="Y29tbWFuZA==")  # the agent remembers the command it emitted


def test_a_planned_hop_nothing_touched_since_the_assignment_is_reissued() -> None:
    assert reissue_after_assignment(routed(), ASSIGNED)


def test_a_hop_touched_after_the_assignment_is_left_to_its_waiting_command() -> None:
    assert not reissue_after_assignment(routed(at=ASSIGNED + 1), ASSIGNED)
    msg = routed()
    in_flight = mark_in_flight(msg, msg.hops[0], ASSIGNED + 5)  # the successor read the command
    assert not reissue_after_assignment(in_flight, ASSIGNED)
    doubted = mark_in_flight(msg, msg.hops[0], ROUTED + 10)
    s = screen(doubted, 0, ASSIGNED + 5, can_lookup=False, grace_ms=GRACE)  # a replayed command
    assert s.action is Screen.WAIT and s.hop is not None
    assert not reissue_after_assignment(doubted.with_hop(s.hop), ASSIGNED)


def test_an_attempt_left_in_flight_by_the_dead_worker_is_reissued() -> None:
    msg = routed()
    assert reissue_after_assignment(mark_in_flight(msg, msg.hops[0], ROUTED + 10), ASSIGNED)


def test_hops_a_provider_has_or_that_wait_for_their_retry_are_not_reissued() -> None:
    msg = routed()
    sent = mark_in_flight(msg, msg.hops[0], ROUTED + 10)
    taken, _ = accepted(sent, sent.hops[0], "SM1", "queued", ROUTED + 20)
    assert not reissue_after_assignment(taken, ASSIGNED)
    retry = failed(sent, sent.hops[0], Failure("retryable", "500"), Patient(), world(ROUTED + 20), 0.5)
    assert retry.message.hops[0].ledger is Ledger.WAITING
    assert not reissue_after_assignment(retry.message, ASSIGNED)


def test_final_messages_and_messages_without_a_command_are_not_reissued() -> None:
    msg = routed()
    done, _ = finish(msg, "cancelled", ROUTED + 10, "opted_out")
    assert not reissue_after_assignment(replace(done, updated_at_ms=ROUTED + 10), ASSIGNED)
    assert not reissue_after_assignment(replace(msg, command=None), ASSIGNED)
    assert not reissue_after_assignment(replace(msg, hops=()), ASSIGNED)


def test_a_reissued_command_never_calls_the_provider_for_an_attempt_in_doubt() -> None:
    """What makes re-issuing safe: the copy of an IN_FLIGHT attempt's command waits out the grace
    period (then lookup or callback) instead of calling; only a PLANNED hop proceeds to a call, once."""
    msg = routed()
    planned = screen(msg, 0, ASSIGNED + 10_000, can_lookup=False, grace_ms=GRACE)
    assert planned.action is Screen.PROCEED and planned.hop is not None
    in_flight = mark_in_flight(msg, planned.hop, ASSIGNED + 10_000)
    for now in (ASSIGNED + 10_000, ASSIGNED + 10_000 + GRACE - 1):
        copy = screen(in_flight, 0, now, can_lookup=False, grace_ms=GRACE)
        assert copy.action is Screen.WAIT, now
    left_by_dead_worker = mark_in_flight(msg, msg.hops[0], ROUTED + 10)
    assert reissue_after_assignment(left_by_dead_worker, ASSIGNED)
    copy = screen(left_by_dead_worker, 0, ASSIGNED + 10_000, can_lookup=True, grace_ms=GRACE)
    assert copy.action is Screen.WAIT and copy.due_ms == ASSIGNED + 10_000 + GRACE
