"""The urgent lane after the first delivery: one voice call for a notice left unread, staff for one
that reached nobody. Pure: the reconciler's and dispatcher's decisions over message records."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from streams import convert
from streams.decide import urgent
from streams.decide.consent import ALL_CHANNELS, Consent
from streams.decide.dispatch import Screen, accepted, mark_in_flight, screen
from streams.decide.fallback import next_route
from streams.decide.intake import decide as intake
from streams.decide.reconcile import Reconciled, StatusFacts, apply
from streams.decide.records import Message, Patient
from streams.decide.routing import Route
from streams.decide.urgent import Escalate
from tests.streams.decide.helpers import request, world

NOW = 1_000_000
AFTER = 600_000  # Policy.urgent_voice_after_ms
PATIENT = Patient()


def sent(**req: object) -> Message:
    """An urgent notice accepted by the provider on its first channel (WhatsApp)."""
    changes = {"priority": "URGENT", "template": "urgent_notice", "asks": None, **req}
    d = intake(PATIENT, None, request("m1", **changes), world(NOW), {})
    assert d.message is not None
    msg = mark_in_flight(d.message, d.message.hops[0], NOW)
    msg, _ = accepted(msg, msg.hops[0], "wamid-1", "sent", NOW + 10)
    return msg


def callback(msg: Message, status: str, at: int, *, hop: int = 0, code: str | None = None,
             patient: Patient = PATIENT) -> Message:
    h = msg.hop(hop)
    assert h is not None and h.provider_message_id is not None
    facts = StatusFacts(f"{h.provider}:{h.provider_message_id}:{status}", h.provider, h.channel,
                        h.provider_message_id, status, at, h.attempt_id, code, "fallback" if code else None)
    r = apply(msg, facts, patient, world(at))
    assert r.message is not None
    return r.message


def unread_event(msg: Message, now: int, patient: Patient = PATIENT) -> Reconciled:
    """What the timer emits when the time to read is up, through the same conversion as the shell."""
    hop = msg.current
    assert hop is not None
    return apply(msg, convert.status_facts(convert.unread_status(msg, hop, now)), patient, world(now))


def delivered(**req: object) -> Message:
    return callback(sent(**req), "delivered", NOW + 20)


# -- when the time to read starts ----------------------------------------------------------------
def test_an_urgent_delivery_on_whatsapp_starts_the_time_to_read() -> None:
    msg = delivered()
    assert msg.status == "delivered" and not msg.is_final  # a call may follow: see test_finality
    assert msg.hops[0].voice_at_ms == NOW + 20 + AFTER
    assert urgent.call_due_ms(msg) == NOW + 20 + AFTER


def test_no_time_to_read_without_a_reason_to_call() -> None:
    assert urgent.call_due_ms(delivered(priority="NORMAL")) is None
    assert urgent.call_due_ms(delivered(channels=("WHATSAPP", "SMS"))) is None
    read = callback(delivered(), "read", NOW + 30)
    assert read.status == "read" and urgent.call_due_ms(read) is None
    assert urgent.call_due_ms(callback(sent(), "read", NOW + 30)) is None  # read straight away


def test_a_repeated_delivered_does_not_move_the_time() -> None:
    msg = delivered()
    again = urgent.watch(msg, NOW + 90_000, AFTER)
    assert again.hops[0].voice_at_ms == NOW + 20 + AFTER


def test_a_late_delivery_of_the_first_hop_starts_the_time_on_the_current_one() -> None:
    msg = sent()
    h = msg.hops[0]
    timed_out = apply(msg, convert.status_facts(convert.deadline_status(msg, h, h.deadline_ms)), PATIENT,
                      world(h.deadline_ms))
    assert timed_out.next_hop is not None and timed_out.message is not None
    assert timed_out.next_hop.channel == "SMS"  # routed, not sent yet
    late = callback(timed_out.message, "delivered", h.deadline_ms + 50)
    assert late.status == "delivered" and late.hops[1].voice_at_ms == h.deadline_ms + 50 + AFTER
    r = unread_event(late, h.deadline_ms + 50 + AFTER)
    assert r.next_hop is not None and (r.next_hop.hop, r.next_hop.channel) == (2, "VOICE")


def test_a_notice_delivered_by_a_call_is_not_called_again() -> None:
    msg = sent(channels=("VOICE", "SMS"))
    assert msg.current is not None and msg.current.channel == "VOICE"
    assert urgent.call_due_ms(callback(msg, "delivered", NOW + 20)) is None


# -- the call ----------------------------------------------------------------------------------
def test_escalation_waits_then_calls_unless_voice_was_refused() -> None:
    msg = delivered()
    due = NOW + 20 + AFTER
    assert urgent.escalation(msg, Consent(), due - 1) is Escalate.WAIT
    assert urgent.escalation(msg, Consent(), due) is Escalate.CALL
    no_calls = Consent().apply("VOICE", False, NOW, "keyword")
    assert urgent.escalation(msg, no_calls, due) is Escalate.NO_CONSENT
    assert urgent.escalation(callback(msg, "read", NOW + 40), Consent(), due) is Escalate.MOOT


def test_unread_at_the_time_to_read_routes_one_call_as_the_next_hop() -> None:
    msg = delivered()
    due = NOW + 20 + AFTER
    r = unread_event(msg, due)
    assert (r.applied, r.reason) == (True, "escalation_call")
    assert r.next_hop is not None and r.message is not None
    assert (r.next_hop.hop, r.next_hop.channel, r.next_hop.reason) == (1, "VOICE", urgent.ESCALATION)
    assert [(o.status, o.hop, o.channel, o.reason) for o in r.outcomes] == [("routed", 1, "VOICE", urgent.ESCALATION)]
    assert r.message.status == "delivered"  # the WhatsApp delivery stands; the call is on top
    assert urgent.call_due_ms(r.message) is None and urgent.calling(r.message)
    # exactly once: the clock's event again (a replay, or a second timer) changes nothing
    again = unread_event(r.message, due + 5_000)
    assert not again.applied and again.next_hop is None


def test_the_clock_fired_early_waits_and_after_read_is_moot() -> None:
    msg = delivered()
    early = unread_event(msg, NOW + 1_000)
    assert (early.applied, early.reason) == (False, "escalation_wait")
    read = callback(msg, "read", NOW + 50)
    late = unread_event(read, NOW + 20 + AFTER)
    assert (late.applied, late.next_hop) == (False, None)


def test_without_voice_consent_the_time_is_forgotten_and_nothing_is_called() -> None:
    patient = replace(PATIENT, consent=Consent().apply("VOICE", False, NOW + 100, "keyword"))
    r = unread_event(delivered(), NOW + 20 + AFTER, patient)
    assert (r.applied, r.reason, r.next_hop) == (True, "escalation_no_consent", None)
    assert r.message is not None and r.message.hops[0].voice_at_ms is None
    assert urgent.call_due_ms(r.message) is None  # the sweeper stops arming it; the record can expire


def test_the_dispatcher_places_the_call_after_delivery_but_not_once_the_notice_is_read() -> None:
    r = unread_event(delivered(), NOW + 20 + AFTER)
    assert r.message is not None
    s = screen(r.message, 1, NOW + AFTER + 30, can_lookup=True, grace_ms=0)
    assert (s.action, s.reason) == (Screen.PROCEED, "send")
    assert screen(r.message, 0, NOW + AFTER + 30, can_lookup=True, grace_ms=0).action is Screen.SKIP
    read = callback(r.message, "read", NOW + AFTER + 25)
    assert screen(read, 1, NOW + AFTER + 30, can_lookup=True, grace_ms=0).reason == "already_delivered"


def test_the_call_answered_or_not_leaves_the_notice_delivered_and_ends_the_escalation() -> None:
    r = unread_event(delivered(), NOW + 20 + AFTER)
    assert r.message is not None
    calling = mark_in_flight(r.message, r.message.hops[1], NOW + AFTER + 30)
    calling, _ = accepted(calling, calling.hops[1], "CA1", "queued", NOW + AFTER + 40)
    for status in ("delivered", "undelivered"):
        done = callback(calling, status, NOW + AFTER + 60, hop=1)
        assert done.status == "delivered" and not urgent.calling(done)
        assert urgent.failed(done, ()) is None


def test_a_busy_voice_sender_moves_the_call_to_another_voice_sender_only() -> None:
    r = unread_event(delivered(), NOW + 20 + AFTER)
    assert r.message is not None
    found = next_route(r.message, PATIENT, world(NOW + AFTER + 30), "fallback_circuit_open", same_channel=True,
                       avoid=frozenset({"voice-twilio"}))
    assert not isinstance(found, Route)  # the one voice sender is busy: no SMS instead (already delivered)


# -- finality: not final while the call may still follow ------------------------------------------
def _called() -> Message:
    r = unread_event(delivered(), NOW + 20 + AFTER)
    assert r.message is not None
    msg = mark_in_flight(r.message, r.message.hops[1], NOW + AFTER + 30)
    msg, _ = accepted(msg, msg.hops[1], "CA1", "queued", NOW + AFTER + 40)
    return msg


def _no_voice_consent() -> Message:
    patient = replace(PATIENT, consent=Consent().apply("VOICE", False, NOW + 100, "keyword"))
    r = unread_event(delivered(), NOW + 20 + AFTER, patient)
    assert r.message is not None
    return r.message


FINALITY = [
    # (case, the message, is_final, status)
    ("delivered_call_pending", delivered, False, "delivered"),
    ("read_before_the_call", lambda: callback(delivered(), "read", NOW + 30), True, "read"),
    ("normal_priority_delivered", lambda: delivered(priority="NORMAL"), True, "delivered"),
    ("no_voice_among_channels", lambda: delivered(channels=("WHATSAPP", "SMS")), True, "delivered"),
    ("call_routed", lambda: unread_event(delivered(), NOW + 20 + AFTER).message, False, "delivered"),
    ("call_ringing", _called, False, "delivered"),
    ("call_answered", lambda: callback(_called(), "delivered", NOW + AFTER + 60, hop=1), True, "delivered"),
    ("call_not_answered", lambda: callback(_called(), "undelivered", NOW + AFTER + 60, hop=1), True, "delivered"),
    ("read_while_calling", lambda: callback(_called(), "read", NOW + AFTER + 50), True, "read"),
    ("no_voice_consent", _no_voice_consent, True, "delivered"),
]


@pytest.mark.parametrize(("case", "make", "final", "status"), FINALITY, ids=[row[0] for row in FINALITY])
def test_finality(case: str, make: Callable[[], Message | None], final: bool, status: str) -> None:
    msg = make()
    assert msg is not None
    assert (msg.status, msg.is_final) == (status, final)
    assert (msg.final_at_ms is not None) == final
    assert convert.state_record(msg)["is_final"] is final


def test_the_delivered_outcome_of_a_notice_that_may_be_called_is_not_final() -> None:
    r = apply(sent(), StatusFacts("meta:wamid-1:delivered", "meta", "WHATSAPP", "wamid-1", "delivered", NOW + 20,
                                  "m1:0"), PATIENT, world(NOW + 20))
    assert [(o.status, o.is_final) for o in r.outcomes] == [("delivered", False)]
    calling = _called()
    h = calling.hops[1]
    r = apply(calling, StatusFacts("twilio:CA1:undelivered", "twilio", "VOICE", "CA1", "undelivered",
                                   NOW + AFTER + 60, h.attempt_id, "no-answer", "fallback"), PATIENT,
              world(NOW + AFTER + 60))
    assert r.message is not None and r.message.is_final
    # the unanswered call is not the message's end: it stays delivered, with no error code
    assert [(o.status, o.hop, o.is_final) for o in r.outcomes] == [("undelivered", 1, False)]
    state = convert.state_record(r.message)
    assert (state["status"], state["error_code"], state["reason"]) == ("delivered", None, None)


# -- staff ---------------------------------------------------------------------------------------
def test_an_urgent_notice_failing_on_every_channel_is_handed_to_staff() -> None:
    msg = sent()
    msg = callback(msg, "failed", NOW + 20, code="131026")
    hop1 = msg.hops[1]
    msg = mark_in_flight(msg, hop1, NOW + 30)
    msg, _ = accepted(msg, msg.hops[1], "SM1", "sent", NOW + 40)
    ended = apply(msg, StatusFacts("twilio:SM1:undelivered", "twilio", "SMS", "SM1", "undelivered", NOW + 50,
                                   hop1.attempt_id, "30006", "fallback"), PATIENT, world(NOW + 50))
    assert ended.message is not None and ended.next_hop is not None and ended.next_hop.channel == "VOICE"
    assert urgent.failed(ended.message, ended.outcomes) is None  # a channel is left
    msg = mark_in_flight(ended.message, ended.message.hops[2], NOW + 60)
    msg, _ = accepted(msg, msg.hops[2], "CA1", "queued", NOW + 70)
    last = apply(msg, StatusFacts("twilio:CA1:undelivered", "twilio", "VOICE", "CA1", "undelivered", NOW + 80,
                                  msg.hops[2].attempt_id, None, "fallback"), PATIENT, world(NOW + 80))
    assert last.message is not None and last.message.status == "undelivered" and last.message.is_final
    notice = urgent.failed(last.message, last.outcomes)
    assert notice is not None and (notice.status, notice.channel, notice.reason) == (
        "undelivered", "VOICE", "no_channel_left")


def test_staff_are_not_told_of_normal_notices_repeats_or_deliveries() -> None:
    normal = sent(priority="NORMAL", channels=("WHATSAPP",))
    h = normal.hops[0]
    r = apply(normal, StatusFacts("meta:wamid-1:failed", "meta", "WHATSAPP", "wamid-1", "failed", NOW + 20,
                                  h.attempt_id, "131026", "fallback"), PATIENT, world(NOW + 20))
    assert r.message is not None and r.message.status == "failed" and r.message.is_final
    assert urgent.failed(r.message, r.outcomes) is None
    urgent_only_whatsapp = replace(normal, priority="URGENT")
    r = apply(urgent_only_whatsapp, StatusFacts("meta:wamid-1:failed", "meta", "WHATSAPP", "wamid-1", "failed",
                                                NOW + 20, h.attempt_id, "131026", "fallback"), PATIENT, world(NOW + 20))
    assert r.message is not None and urgent.failed(r.message, r.outcomes) is not None  # the same, urgent
    first = intake(PATIENT, None, request(priority="URGENT"), world(NOW), {})
    repeat = intake(first.patient, None, request("m2", idempotency_key="key-m1", fingerprint="other",
                                                 priority="URGENT"), world(NOW + 1), {})
    assert repeat.message is not None and repeat.message.status == "failed"
    assert urgent.failed(repeat.message, repeat.outcomes) is None  # a refused repeat, not a failed notice
    assert urgent.failed(delivered(), ()) is None


def test_an_urgent_notice_no_channel_may_carry_is_handed_to_staff() -> None:
    patient = replace(PATIENT, consent=Consent().apply(ALL_CHANNELS, False, NOW - 1, "keyword"))
    d = intake(patient, None, request(priority="URGENT"), world(NOW), {})
    assert d.message is not None and d.message.status == "blocked"
    notice = urgent.failed(d.message, d.outcomes)
    assert notice is not None and notice.reason == "blocked_no_consent"


# -- the time to read as a table: what the clock's event calls for, per notice ---------------------------
DUE = NOW + 20 + AFTER
NO_CALLS = replace(PATIENT, consent=Consent().apply("VOICE", False, NOW, "keyword"))
NOBODY = replace(PATIENT, consent=Consent().apply(ALL_CHANNELS, False, NOW, "keyword"))
NOTICES: dict[str, Callable[[], Message]] = {
    "delivered": delivered,
    "normal_delivered": lambda: delivered(priority="NORMAL"),
    "without_voice": lambda: delivered(channels=("WHATSAPP", "SMS")),
    "read": lambda: callback(delivered(), "read", NOW + 30),
    "sent": sent,
    "delivered_by_a_call": lambda: callback(sent(channels=("VOICE", "SMS")), "delivered", NOW + 20),
    "call_routed": lambda: unread_event(delivered(), DUE).message or delivered(),
}
ESCALATIONS = [
    # (notice, patient, now) -> (when the call is due, what the time to read calls for)
    pytest.param("delivered", PATIENT, DUE - 1, (DUE, Escalate.WAIT), id="before-the-time-waits"),
    pytest.param("delivered", PATIENT, DUE, (DUE, Escalate.CALL), id="at-the-time-calls"),
    pytest.param("delivered", PATIENT, DUE + 3_600_000, (DUE, Escalate.CALL), id="long-after-still-calls"),
    pytest.param("delivered", NO_CALLS, DUE, (DUE, Escalate.NO_CONSENT), id="calls-refused"),
    pytest.param("delivered", NOBODY, DUE, (DUE, Escalate.NO_CONSENT), id="every-channel-refused"),
    pytest.param("normal_delivered", PATIENT, DUE, (None, Escalate.MOOT), id="not-urgent"),
    pytest.param("without_voice", PATIENT, DUE, (None, Escalate.MOOT), id="voice-not-among-its-channels"),
    pytest.param("read", PATIENT, DUE, (None, Escalate.MOOT), id="read"),
    pytest.param("sent", PATIENT, DUE, (None, Escalate.MOOT), id="not-delivered-yet"),
    pytest.param("delivered_by_a_call", PATIENT, DUE, (None, Escalate.MOOT), id="delivered-by-a-call"),
    pytest.param("call_routed", PATIENT, DUE, (None, Escalate.MOOT), id="call-already-routed"),
]


@pytest.mark.parametrize(("notice", "patient", "now", "expected"), ESCALATIONS)
def test_escalation(notice: str, patient: Patient, now: int, expected: tuple[int | None, Escalate]) -> None:
    msg = NOTICES[notice]()
    assert (urgent.call_due_ms(msg), urgent.escalation(msg, patient.consent, now)) == expected


def test_a_call_due_behind_a_routed_call_is_not_due() -> None:
    """The call hop's own time to read, were one set, never leads to a second call."""
    called = NOTICES["call_routed"]()
    hop = called.current
    assert hop is not None and hop.channel == "VOICE"
    armed = called.with_hop(replace(hop, voice_at_ms=DUE))
    assert urgent.call_due_ms(armed) is None


@pytest.mark.parametrize(("notice", "voice_at"), [
    pytest.param("delivered", DUE, id="armed-time-forgotten"),
    pytest.param("normal_delivered", None, id="nothing-armed-unchanged"),
])
def test_settle(notice: str, voice_at: int | None) -> None:
    msg = NOTICES[notice]()
    assert msg.hops[-1].voice_at_ms == voice_at
    settled = urgent.settle(msg)
    assert settled.hops[-1].voice_at_ms is None
    assert (settled is msg) is (voice_at is None)
