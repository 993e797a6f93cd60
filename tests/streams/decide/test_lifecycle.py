from collections.abc import Callable
from dataclasses import replace

import pytest

from streams import convert
from streams.decide import lifecycle
from streams.decide.consent import ALL_CHANNELS, Consent
from streams.decide.dispatch import Failure, consent_withdrawn, failed, mark_in_flight
from streams.decide.intake import decide as intake
from streams.decide.intake import new_message
from streams.decide.records import Hop, Ledger, Message, Patient
from streams.decide.status import Entry

from .helpers import request, world

NOW = 1_000


def hop(n: int = 0, channel: str = "WHATSAPP") -> Hop:
    return Hop(n, f"m1:{n}", channel, f"{channel.lower()}-1", "meta", "first_choice", NOW, NOW + 100, True)


def test_accept_route_and_hop_events_each_emit_one_outcome_with_a_stable_id() -> None:
    msg, accepted = lifecycle.accept(new_message(request(), NOW), NOW)
    assert (accepted.status, accepted.event_id) == ("accepted", "m1:0:accepted")
    msg, routed = lifecycle.route(msg, hop(), NOW)
    assert (routed.status, routed.previous, routed.reason) == ("routed", "accepted", "first_choice")
    msg, outs = lifecycle.hop_event(msg, msg.hops[0], Entry("sent", NOW + 5, source="provider"), final=False)
    assert [(o.status, o.previous, o.event_id) for o in outs] == [("sent", "routed", "m1:0:sent")]
    assert msg.status == "sent" and not msg.is_final
    msg, outs = lifecycle.hop_event(msg, msg.hops[0], Entry("delivered", NOW + 9, source="provider"), final=False)
    assert msg.is_final and msg.final_at_ms == NOW + 9 and outs[0].is_final


def test_a_repeated_event_changes_nothing_but_is_kept_in_the_history() -> None:
    msg, _ = lifecycle.accept(new_message(request(), NOW), NOW)
    msg, _ = lifecycle.route(msg, hop(), NOW)
    msg, _ = lifecycle.hop_event(msg, msg.hops[0], Entry("sent", NOW + 5), final=False)
    before = len(msg.history)
    msg, outs = lifecycle.hop_event(msg, msg.hops[0], Entry("queued", NOW + 6), final=False)
    assert outs == () and len(msg.history) == before + 1 and msg.status == "sent"


def test_finish_ends_the_message_once() -> None:
    msg, _ = lifecycle.accept(new_message(request(), NOW), NOW)
    msg, outs = lifecycle.finish(msg, "cancelled", NOW + 1, "opted_out")
    assert [(o.status, o.reason, o.is_final) for o in outs] == [("cancelled", "opted_out", True)]
    again, outs = lifecycle.finish(msg, "blocked", NOW + 2, "blocked_no_consent")
    assert outs == () and again.status == "cancelled"


def test_a_second_hop_outcome_carries_its_own_hop_and_channel() -> None:
    msg, _ = lifecycle.accept(new_message(request(), NOW), NOW)
    msg, _ = lifecycle.route(msg, hop(0), NOW)
    msg, routed = lifecycle.route(msg, hop(1, "SMS"), NOW + 50)
    assert (routed.hop, routed.channel, routed.event_id, routed.previous) == (1, "SMS", "m1:1:routed", None)


def _intake(patient: Patient, **req: object) -> Message:
    d = intake(patient, None, request(**req), world(NOW), {})
    assert d.message is not None
    return d.message


def _blocked_at_intake() -> Message:
    return _intake(Patient(consent=Consent().apply(ALL_CHANNELS, False, NOW - 1, "keyword")))


def _withdrawn_at_dispatch() -> Message:
    msg = _intake(Patient(), channels=("SMS",))
    patient = Patient(consent=Consent().apply("SMS", False, NOW, "keyword"))
    return consent_withdrawn(msg, msg.hops[0], patient, world(NOW + 1)).message


def _failed_on_the_last_channel() -> Message:
    msg = _intake(Patient(), channels=("SMS",))
    msg = mark_in_flight(msg, msg.hops[0], NOW)
    return failed(msg, msg.hops[0], Failure("fallback", "30008"), Patient(), world(NOW + 1), 0.0).message


ENDINGS = [
    # (case, the message, (status, reason, error_code) that GET and analytics show)
    ("blocked_no_consent", _blocked_at_intake, ("blocked", "blocked_no_consent", None)),
    ("consent_withdrawn_no_channel_left", _withdrawn_at_dispatch, ("blocked", "no_channel_left", "no_consent")),
    ("failed_no_channel_left", _failed_on_the_last_channel, ("failed", "no_channel_left", "30008")),
    ("expired_before_the_call", lambda: lifecycle.finish(_intake(Patient()), "expired", NOW + 5, "message_expired")[0],
     ("expired", "message_expired", None)),
    ("cancelled_opted_out", lambda: lifecycle.finish(_intake(Patient()), "cancelled", NOW + 5, "opted_out")[0],
     ("cancelled", "opted_out", None)),
]


@pytest.mark.parametrize(("case", "make", "expected"), ENDINGS, ids=[row[0] for row in ENDINGS])
def test_every_ended_message_carries_its_reason(case: str, make: Callable[[], Message],
                                                expected: tuple[str, str, str | None]) -> None:
    state = convert.state_record(make())
    assert (state["status"], state["reason"], state["error_code"]) == expected
    assert state["is_final"]
    ended = [h for h in state["history"] if h["status"] == expected[0]]
    assert ended[-1]["reason"] == expected[1] and not ended[-1]["late"]


def test_finishing_an_ended_message_again_is_kept_late() -> None:
    msg, _ = lifecycle.finish(_blocked_at_intake(), "cancelled", NOW + 9, "opted_out")
    assert msg.status == "blocked" and msg.history[-1].late
    assert convert.state_record(msg)["reason"] == "blocked_no_consent"


# -- waits, retries and the sweep's expiry as tables --------------------------------------------------------
def _accepted(expires_at_ms: int | None = None) -> Message:
    msg, _ = lifecycle.accept(new_message(request(expires_at_ms=expires_at_ms), NOW), NOW)
    return msg


Wait = tuple[int, str, int]  # (at, reason, next try)
WAITS = [
    # (waits in order) -> history after accepted: (status, reason, next try); and whether the last wait was a no-op
    pytest.param([(10, "send_at", 500)], [("scheduled", "send_at", 500)], False, id="send-at-is-scheduled"),
    pytest.param([(10, "rate_limited", 500)], [("held", "rate_limited", 500)], False, id="rate-limit-is-held"),
    pytest.param([(10, "quiet_hours", 500), (20, "quiet_hours", 500)],
                 [("held", "quiet_hours", 500)], True, id="same-wait-again-changes-nothing"),
    pytest.param([(10, "rate_limited", 500), (20, "rate_limited", 900)],
                 [("held", "rate_limited", 900)], False, id="same-wait-later-replaces-its-entry"),
    pytest.param([(10, "rate_limited", 500), (20, "quiet_hours", 900)],
                 [("held", "rate_limited", 500), ("held", "quiet_hours", 900)], False, id="another-reason-is-added"),
    pytest.param([(10, "send_at", 500), (20, "rate_limited", 900)],
                 [("scheduled", "send_at", 500), ("held", "rate_limited", 900)], False,
                 id="scheduled-then-held-both-kept"),
]


@pytest.mark.parametrize(("waits", "history", "no_op"), WAITS)
def test_waiting(waits: list[Wait], history: list[tuple[str, str | None, int | None]], no_op: bool) -> None:
    msg = _accepted()
    before = msg
    for at, reason, next_at in waits:
        before = msg
        msg = lifecycle.waiting(msg, at, reason, next_at)
    assert [(e.status, e.reason, e.next_attempt_at_ms) for e in msg.history[1:]] == history
    assert (msg is before) is no_op
    assert msg.status == "accepted"


RETRIES = [
    # (hop tries per retry, reasons) -> retrying entries kept (attempt, reason, next try)
    pytest.param([(1, "provider_error", 100)], [(1, "provider_error", 100)], id="first-retry"),
    pytest.param([(1, "provider_error", 100), (2, "provider_error", 300)],
                 [(1, "provider_error", 100), (2, "provider_error", 300)], id="each-call-its-entry"),
    pytest.param([(1, "circuit_open", 100), (1, "circuit_open", 200)], [(1, "circuit_open", 200)],
                 id="same-call-checked-again-replaces"),
    pytest.param([(1, "provider_error", 100), (1, "circuit_open", 200)],
                 [(1, "provider_error", 100), (1, "circuit_open", 200)], id="same-call-other-reason-added"),
]


@pytest.mark.parametrize(("retries", "kept"), RETRIES)
def test_retrying(retries: list[tuple[int, str, int]], kept: list[tuple[int, str, int]]) -> None:
    msg, _ = lifecycle.route(_accepted(), hop(), NOW)
    for tries, reason, next_at in retries:
        h = replace(msg.hops[0], tries=tries)
        msg = lifecycle.retrying(msg.with_hop(h), h, NOW + tries, reason, "500", next_at)
    entries = [(e.attempt, e.reason, e.next_attempt_at_ms) for e in msg.history if e.status == "retrying"]
    assert entries == kept and msg.status == "routed"


def _with_ledger(ledger: str) -> Message:
    msg, _ = lifecycle.route(_accepted(expires_at_ms=NOW + 100), hop(), NOW)
    return msg.with_hop(replace(msg.hops[0], ledger=Ledger(ledger)))


@pytest.mark.parametrize(("make", "now", "expired"), [
    pytest.param(lambda: _accepted(), NOW + 10**9, False, id="no-expiry"),
    pytest.param(lambda: _accepted(NOW + 100), NOW + 99, False, id="before-expiry"),
    pytest.param(lambda: _accepted(NOW + 100), NOW + 100, True, id="waiting-unrouted-at-expiry"),
    pytest.param(lambda: _with_ledger("waiting"), NOW + 100, True, id="waiting-for-a-retry"),
    pytest.param(lambda: _with_ledger("planned"), NOW + 100, False, id="planned-hop-is-the-dispatchers"),
    pytest.param(lambda: _with_ledger("in_flight"), NOW + 100, False, id="in-flight-hop-is-the-dispatchers"),
    pytest.param(lambda: _with_ledger("accepted"), NOW + 100, False, id="with-the-provider"),
    pytest.param(lambda: lifecycle.finish(_accepted(NOW + 100), "cancelled", NOW + 5, "opted_out")[0], NOW + 100,
                 False, id="already-ended"),
])
def test_expired_while_waiting(make: Callable[[], Message], now: int, expired: bool) -> None:
    assert lifecycle.expired_while_waiting(make(), now) is expired
