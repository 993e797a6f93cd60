from dataclasses import replace

import pytest

from streams import convert
from streams.decide import status as st
from streams.decide.dispatch import After, Failure, Screen, accepted, circuit_blocked, failed, mark_in_flight, screen
from streams.decide.intake import decide as intake
from streams.decide.reconcile import StatusFacts, apply
from streams.decide.records import Ledger, Message, Patient

from .helpers import request, sent_message, world

NOW = 1_000_000
GRACE = 120_000


def routed(**req) -> Message:
    d = intake(Patient(), None, request(**req), world(NOW), {})
    assert d.message is not None
    return d.message


def test_a_routed_hop_proceeds_and_is_marked_in_flight_before_the_call() -> None:
    msg = routed()
    s = screen(msg, 0, NOW, can_lookup=True, grace_ms=GRACE)
    assert s.action is Screen.PROCEED and s.hop is not None
    msg = mark_in_flight(msg, s.hop, NOW)
    hop = msg.hop(0)
    assert hop is not None and (hop.ledger, hop.tries, hop.in_flight_since_ms) == (Ledger.IN_FLIGHT, 1, NOW)


def test_in_flight_without_provider_id_is_in_doubt_from_when_the_doubt_is_seen() -> None:
    msg = routed()
    msg = mark_in_flight(msg, msg.hops[0], NOW)
    later = NOW + 10 * GRACE  # e.g. a restart long after the call: the grace starts now, not at the call
    first = screen(msg, 0, later, can_lookup=True, grace_ms=GRACE)
    assert (first.action, first.due_ms) == (Screen.WAIT, later + GRACE)
    assert first.hop is not None and first.hop.doubt_since_ms == later
    msg = msg.with_hop(first.hop)
    assert screen(msg, 0, later + GRACE - 1, can_lookup=True, grace_ms=GRACE).action is Screen.WAIT
    assert screen(msg, 0, later + GRACE, can_lookup=True, grace_ms=GRACE).action is Screen.LOOKUP
    resend = screen(msg, 0, later + GRACE, can_lookup=False, grace_ms=GRACE)
    assert (resend.action, resend.reason) == (Screen.PROCEED, "in_doubt_resend")
    assert mark_in_flight(msg, msg.hops[0], later + GRACE).hops[0].doubt_since_ms is None


def test_harmless_resend_needs_no_grace() -> None:
    msg = routed()
    msg = mark_in_flight(msg, msg.hops[0], NOW)
    assert screen(msg, 0, NOW + 1, can_lookup=False, grace_ms=0).action is Screen.PROCEED


def test_accepted_hop_is_never_sent_again() -> None:
    msg = routed()
    msg = mark_in_flight(msg, msg.hops[0], NOW)
    msg, outs = accepted(msg, msg.hops[0], "SM1", "queued", NOW + 10)
    assert [o.status for o in outs] == ["queued"]
    s = screen(msg, 0, NOW + 20, can_lookup=True, grace_ms=GRACE)
    assert (s.action, s.reason) == (Screen.SKIP, "already_sent")


def test_stale_final_unknown_and_expired() -> None:
    assert screen(None, 0, NOW, can_lookup=True, grace_ms=GRACE).reason == "unknown_message"
    msg = routed()
    assert screen(msg, 1, NOW, can_lookup=True, grace_ms=GRACE).reason == "stale_hop"
    assert screen(replace(msg, is_final=True), 0, NOW, can_lookup=True, grace_ms=GRACE).reason == "message_final"
    assert screen(replace(msg, status="delivered"), 0, NOW, can_lookup=True, grace_ms=GRACE).reason == \
        "already_delivered"
    exp = routed(expires_at_ms=NOW + 10)
    assert screen(exp, 0, NOW + 10, can_lookup=True, grace_ms=GRACE).action is Screen.EXPIRE


def test_retryable_failure_retries_with_backoff_then_falls_back() -> None:
    msg = routed()
    w = world(NOW)
    hop = msg.hops[0]
    for tries in range(1, 4):
        msg = mark_in_flight(msg, msg.hop(0) or hop, NOW)
        r = failed(msg, msg.hop(0) or hop, Failure("retryable", "500"), Patient(), w, 0.5)
        assert r.action is After.RETRY and r.delay_ms > 0
        msg = r.message
        assert (msg.hop(0) or hop).ledger is Ledger.WAITING and (msg.hop(0) or hop).tries == tries
    msg = mark_in_flight(msg, msg.hop(0) or hop, NOW)
    r = failed(msg, msg.hop(0) or hop, Failure("retryable"), Patient(), w, 0.5)
    assert r.action is After.ENDED and r.reason == "retries_exhausted"
    assert r.end is not None and r.end.next_hop is not None and r.end.next_hop.channel == "SMS"
    assert [(o.status, o.hop, o.is_final) for o in r.outcomes] == [("failed", 0, False), ("routed", 1, False)]
    assert r.outcomes[1].reason == "fallback_retries_exhausted"


def test_permanent_failure_falls_back_at_once_and_every_hop_is_recorded() -> None:
    msg = routed()
    msg = mark_in_flight(msg, msg.hops[0], NOW)
    r = failed(msg, msg.hops[0], Failure("fallback", "131026"), Patient(), world(NOW), 0.5)
    assert r.end is not None and r.end.next_hop is not None
    assert [h.channel for h in r.message.hops] == ["WHATSAPP", "SMS"]
    assert r.message.hops[0].ledger is Ledger.FAILED and r.message.hops[0].error_code == "131026"


def test_final_failure_ends_the_message() -> None:
    msg = routed()
    msg = mark_in_flight(msg, msg.hops[0], NOW)
    r = failed(msg, msg.hops[0], Failure("final", "21211"), Patient(), world(NOW), 0.5)
    assert r.end is not None and r.end.next_hop is None
    assert r.message.status == "failed" and r.message.is_final
    assert r.outcomes[-1].is_final


def test_instance_failure_tries_the_other_sender_of_the_same_channel() -> None:
    msg = routed()
    msg = mark_in_flight(msg, msg.hops[0], NOW)
    r = failed(msg, msg.hops[0], Failure("fallback", "190", opens_circuit=True), Patient(), world(NOW), 0.5)
    assert r.end is not None and r.end.next_hop is not None
    assert (r.end.next_hop.channel, r.end.next_hop.instance_id) == ("WHATSAPP", "wa-twilio")


def test_in_doubt_failure_keeps_the_ledger_in_flight_and_starts_the_grace() -> None:
    msg = routed()
    msg = mark_in_flight(msg, msg.hops[0], NOW)
    r = failed(msg, msg.hops[0], Failure("retryable", in_doubt=True), Patient(), world(NOW), 0.5)
    assert r.action is After.IN_DOUBT and r.message.hops[0].ledger is Ledger.IN_FLIGHT
    assert r.delay_ms == 120_000 and r.message.hops[0].doubt_since_ms == NOW
    back = screen(r.message, 0, NOW + r.delay_ms, can_lookup=True, grace_ms=r.delay_ms)
    assert back.action is Screen.LOOKUP


def test_open_circuit_falls_back_to_a_healthy_channel_or_waits() -> None:
    msg = routed()
    r = circuit_blocked(msg, msg.hops[0], Patient(), world(NOW, open_ids=frozenset({"wa-meta"})), NOW + 30_000)
    assert r.action is After.ENDED and r.end is not None and r.end.next_hop is not None
    assert r.end.next_hop.instance_id == "wa-twilio" and r.end.next_hop.reason == "fallback_circuit_open"
    everything = frozenset({"wa-meta", "wa-twilio", "sms-twilio", "voice-twilio"})
    r = circuit_blocked(msg, msg.hops[0], Patient(), world(NOW, open_ids=everything), NOW + 30_000)
    assert (r.action, r.delay_ms) == (After.RETRY, 30_000)


def test_consent_withdrawn_after_routing_moves_on_or_blocks() -> None:
    from streams.decide.consent import Consent
    from streams.decide.dispatch import consent_withdrawn

    msg = routed()
    patient = Patient(consent=Consent().apply("WHATSAPP", False, NOW, "keyword"))
    r = consent_withdrawn(msg, msg.hops[0], patient, world(NOW))
    assert r.end is not None and r.end.next_hop is not None and r.end.next_hop.channel == "SMS"
    lone = routed(channels=("WHATSAPP",))
    r = consent_withdrawn(lone, lone.hops[0], patient, world(NOW))
    assert r.end is not None and r.end.next_hop is None
    assert r.message.status == "blocked" and r.message.is_final


def test_a_failure_of_a_superseded_hop_does_not_fall_back_again() -> None:
    msg = routed()
    msg = mark_in_flight(msg, msg.hops[0], NOW)
    deadline = StatusFacts("carelay:m1:0:deadline", "carelay", "WHATSAPP", "m1:0", "expired", NOW + 10, "m1:0",
                           "deadline", "fallback", "deadline")
    moved = apply(msg, deadline, Patient(), world(NOW + 10))  # the deadline passed while the call was out
    assert moved.message is not None and moved.next_hop is not None and moved.next_hop.channel == "SMS"
    late = failed(moved.message, moved.message.hops[0], Failure("fallback", "131026"), Patient(), world(NOW + 20), 0.5)
    assert late.end is not None and late.end.next_hop is None
    assert [h.channel for h in late.message.hops] == ["WHATSAPP", "SMS"]
    assert late.message.current is not None and late.message.current.channel == "SMS"


RETRIES = [
    # (case, failure, (reason, error code) of the retrying entry)
    ("provider_5xx", Failure("retryable", "500"), ("provider_error", "500")),
    ("provider_429_with_retry_after", Failure("rate_limited", "20429", retry_after_s=5.0),
     ("provider_rate_limited", "20429")),
]


@pytest.mark.parametrize(("case", "failure", "expected"), RETRIES, ids=[row[0] for row in RETRIES])
def test_a_retry_shows_in_the_history_with_its_call_and_next_try(case: str, failure: Failure,
                                                                 expected: tuple[str, str]) -> None:
    msg = routed()
    for call in (1, 2):
        msg = mark_in_flight(msg, msg.hops[-1], NOW + call)
        r = failed(msg, msg.hops[-1], failure, Patient(), world(NOW + call), 0.5)
        assert r.action is After.RETRY
        msg = r.message
        entry = msg.history[-1]
        assert (entry.status, entry.reason, entry.error_code, entry.attempt, entry.attempt_id) == (
            st.RETRYING, *expected, call, "m1:0")
        assert entry.next_attempt_at_ms == NOW + call + r.delay_ms and not entry.late
        state = convert.state_record(msg)
        assert (state["status"], state["reason"], state["error_code"], state["next_attempt_at"]) == (
            "routed", expected[0], expected[1], NOW + call + r.delay_ms)
    assert [e.attempt for e in msg.history if e.status == st.RETRYING] == [1, 2]
    sent, _ = accepted(msg, msg.hops[0], "wamid-1", "sent", NOW + 60_000)
    assert convert.state_record(sent)["next_attempt_at"] is None  # the retry went out


def test_an_open_circuit_wait_shows_once_per_call_in_the_history() -> None:
    msg = routed(channels=("WHATSAPP",))
    everything = frozenset({"wa-meta", "wa-twilio"})
    for at in (NOW, NOW + 30_000):
        r = circuit_blocked(msg, msg.hops[0], Patient(), world(at, open_ids=everything), at + 30_000)
        assert r.action is After.RETRY
        msg = r.message
    waits = [e for e in msg.history if e.status == st.RETRYING]
    assert [(e.reason, e.attempt, e.next_attempt_at_ms) for e in waits] == [("circuit_open", 0, NOW + 60_000)]


# -- screen as a table: one row per kind of command the dispatcher can be handed ---------------------------
def _in_flight(doubt_since: int | None = None) -> Message:
    msg = routed()
    msg = mark_in_flight(msg, msg.hops[0], NOW)
    return msg.with_hop(replace(msg.hops[0], doubt_since_ms=doubt_since))


def _urgent_calling() -> Message:
    """An urgent notice delivered on WhatsApp, unread at its time to read: the call (hop 1) is routed."""
    msg = sent_message(NOW, priority="URGENT", template="urgent_notice", asks=None)
    delivered = StatusFacts("meta:wamid-1:delivered", "meta", "WHATSAPP", "wamid-1", "delivered", NOW + 20, "m1:0")
    msg = apply(msg, delivered, Patient(), world(NOW + 20)).message or msg
    due = NOW + 20 + 600_000
    unread = StatusFacts("carelay:m1:0:unread", "carelay", "WHATSAPP", "m1:0", "delivered", due, "m1:0", "unread",
                         "fallback", "deadline")
    called = apply(msg, unread, Patient(), world(due)).message
    assert called is not None and called.current is not None and called.current.channel == "VOICE"
    return called


SCREENS = {
    "none": lambda: None,
    "routed": routed,
    "routed_expiring": lambda: routed(expires_at_ms=NOW + 10),
    "final": lambda: replace(routed(), is_final=True),
    "delivered": lambda: sent_message(NOW, status="delivered"),
    "accepted": lambda: sent_message(NOW),
    "hop_failed": lambda: routed().with_hop(replace(routed().hops[0], ledger=Ledger.FAILED)),
    "in_flight": _in_flight,
    "in_doubt_since_now": lambda: _in_flight(NOW),
    "in_doubt_long": lambda: _in_flight(NOW - GRACE),
    "urgent_calling": _urgent_calling,
}
SCREEN_ROWS = [
    # (message, hop, now, can_lookup, grace) -> (action, reason, hop number, due_ms)
    pytest.param("none", 0, NOW, True, GRACE, (Screen.SKIP, "unknown_message", None, None), id="unknown-message"),
    pytest.param("routed", 0, NOW, True, GRACE, (Screen.PROCEED, "send", 0, None), id="routed-hop-proceeds"),
    pytest.param("routed", 1, NOW, True, GRACE, (Screen.SKIP, "stale_hop", None, None), id="hop-not-yet-routed"),
    pytest.param("final", 0, NOW, True, GRACE, (Screen.SKIP, "message_final", None, None), id="message-ended"),
    pytest.param("delivered", 0, NOW, True, GRACE, (Screen.SKIP, "already_delivered", None, None),
                 id="message-delivered"),
    pytest.param("accepted", 0, NOW + 20, True, GRACE, (Screen.SKIP, "already_sent", 0, None),
                 id="provider-took-it"),
    pytest.param("hop_failed", 0, NOW, True, GRACE, (Screen.SKIP, "hop_failed", 0, None), id="hop-failed"),
    pytest.param("in_flight", 0, NOW + 5, True, GRACE, (Screen.WAIT, "in_doubt", 0, NOW + 5 + GRACE),
                 id="doubt-first-seen-waits-the-grace"),
    pytest.param("in_doubt_since_now", 0, NOW + GRACE - 1, True, GRACE, (Screen.WAIT, "in_doubt", 0, NOW + GRACE),
                 id="doubt-within-the-grace-waits"),
    pytest.param("in_doubt_long", 0, NOW, True, GRACE, (Screen.LOOKUP, "in_doubt", 0, None),
                 id="doubt-after-the-grace-looks-up"),
    pytest.param("in_doubt_long", 0, NOW, False, GRACE, (Screen.PROCEED, "in_doubt_resend", 0, None),
                 id="doubt-after-the-grace-no-lookup-resends"),
    pytest.param("in_flight", 0, NOW + 1, False, 0, (Screen.PROCEED, "in_doubt_resend", 0, None),
                 id="harmless-resend-needs-no-grace"),
    pytest.param("routed_expiring", 0, NOW + 9, True, GRACE, (Screen.PROCEED, "send", 0, None),
                 id="before-expiry-proceeds"),
    pytest.param("routed_expiring", 0, NOW + 10, True, GRACE, (Screen.EXPIRE, "message_expired", 0, None),
                 id="at-expiry-expires"),
    pytest.param("urgent_calling", 1, NOW + 700_000, True, GRACE, (Screen.PROCEED, "send", 1, None),
                 id="urgent-call-after-delivery-proceeds"),
    pytest.param("urgent_calling", 0, NOW + 700_000, True, GRACE, (Screen.SKIP, "stale_hop", None, None),
                 id="urgent-delivered-hop-is-not-sent-again"),
]


@pytest.mark.parametrize(("given", "hop", "now", "can_lookup", "grace", "expected"), SCREEN_ROWS)
def test_screen(given: str, hop: int, now: int, can_lookup: bool, grace: int,
                expected: tuple[Screen, str, int | None, int | None]) -> None:
    s = screen(SCREENS[given](), hop, now, can_lookup=can_lookup, grace_ms=grace)
    assert (s.action, s.reason, s.hop.hop if s.hop else None, s.due_ms) == expected
