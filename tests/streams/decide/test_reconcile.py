"""reconcile.apply as a table of named cases (a message scenario, the status as plain data, the decision
as plain data), then the multi-step properties: any order gives one end state, history never runs back."""
import itertools
from collections.abc import Callable
from dataclasses import replace

import pytest

from streams import convert
from streams.decide import status as st
from streams.decide.consent import ALL_CHANNELS
from streams.decide.dispatch import accepted, mark_in_flight
from streams.decide.intake import decide as intake
from streams.decide.reconcile import Reconciled, StatusFacts, apply, status_time
from streams.decide.records import Ledger, Message, Patient
from streams.decide.world import World

from .helpers import INAPP, SMS, WA_META, WA_TWILIO, consent_of, request, world
from .helpers import sent_message as sent_at

NOW = 1_000_000
DEADLINE = NOW + 3_600_000           # Policy.deadline_normal_ms after routing
TIME_TO_READ = NOW + 20 + 600_000    # an urgent notice delivered at NOW + 20, Policy.urgent_voice_after_ms


def sent_message(**req: object) -> Message:
    return sent_at(NOW, **req)


def status(s: str, at: int, *, pid: str = "wamid-1", attempt: str | None = "m1:0", code=None, cls=None,
           source="provider") -> StatusFacts:
    return StatusFacts(f"meta:{pid}:{s}:{source}", "meta", "WHATSAPP", pid, s, at, attempt, code, cls, source)


def after(msg: Message, *events: StatusFacts) -> Message:
    for e in events:
        r = apply(msg, e, Patient(), world(e.at_ms))
        assert r.message is not None
        msg = r.message
    return msg


def in_doubt() -> Message:
    """hop 0's provider call made, its result never recorded."""
    d = intake(Patient(), None, request(), world(NOW), {})
    assert d.message is not None
    return mark_in_flight(d.message, d.message.hops[0], NOW)


def urgent_delivered() -> Message:
    return after(sent_message(priority="URGENT", template="urgent_notice", asks=None), status("delivered", NOW + 20))


def deadline(at: int = DEADLINE, attempt: str = "m1:0") -> dict[str, object]:
    """Our clock's `expired` for the hop (convert.deadline_status, as the reconciler reads it)."""
    return {"status": "expired", "at": at, "pid": attempt, "attempt": attempt, "code": "deadline", "cls": "fallback",
            "source": "deadline"}


def unread(at: int = TIME_TO_READ, attempt: str = "m1:0") -> dict[str, object]:
    """Our clock's event when an urgent notice's time to read is up (convert.unread_status)."""
    return {"status": "delivered", "at": at, "pid": attempt, "attempt": attempt, "code": "unread", "cls": "fallback",
            "source": "deadline"}


MESSAGES: dict[str, Callable[[], Message | None]] = {
    "none": lambda: None,
    "sent": sent_message,
    "sent_whatsapp_only": lambda: sent_message(channels=("WHATSAPP",)),
    "in_doubt": in_doubt,
    "delivered": lambda: after(sent_message(), status("delivered", NOW + 20)),
    "fell_back": lambda: after(sent_message(), status("failed", NOW + 20, code="131026", cls="fallback")),
    "deadline_fell_back": lambda: after(sent_message(), StatusFacts("own:m1:0:deadline", "carelay", "WHATSAPP",
                                                                    "m1:0", "expired", DEADLINE, "m1:0", "deadline",
                                                                    "fallback", "deadline")),
    "whatsapp_only_failed": lambda: after(sent_message(channels=("WHATSAPP",)),
                                          status("failed", NOW + 20, code="131026", cls="fallback")),
    "urgent_delivered": urgent_delivered,
    "urgent_read": lambda: after(urgent_delivered(), status("read", NOW + 50)),
    "urgent_calling": lambda: after(urgent_delivered(), StatusFacts("own:m1:0:unread", "carelay", "WHATSAPP", "m1:0",
                                                                    "delivered", TIME_TO_READ, "m1:0", "unread",
                                                                    "fallback", "deadline")),
}
PATIENTS = {
    "anyone": Patient(),
    "no_sms": Patient(consent=consent_of(("SMS",))),
    "no_calls": Patient(consent=consent_of(("VOICE",), at_ms=NOW + 100)),
    "opted_out": Patient(consent=consent_of((ALL_CHANNELS,))),
}
NO_VOICE_SENDER = (WA_META, WA_TWILIO, SMS, INAPP)


def world_at(now: int, voice_sender: bool) -> World:
    w = world(now)
    return w if voice_sender else replace(w, instances=lambda org, ch: [i for i in NO_VOICE_SENDER if i.channel == ch])


Outcomes = list[tuple[str, int, str | None, bool, str | None]]  # (status, hop, previous, final, reason)
APPLY = [
    # (message, status facts, patient, now) ->
    #   (applied, reason, message status, final, outcomes, next hop (hop, channel, reason), opt-out channel)
    pytest.param("none", {"status": "sent", "at": NOW}, "anyone", NOW,
                 (False, "unknown_message", None, None, [], None, None), id="unknown-message"),
    pytest.param("sent", {"status": "sent", "at": NOW, "pid": "x", "attempt": "zz"}, "anyone", NOW,
                 (False, "unknown_attempt", "sent", False, [], None, None), id="unknown-attempt"),
    pytest.param("sent", {"status": "paid", "at": NOW + 20}, "anyone", NOW + 20,
                 (False, "unknown_status", "sent", False, [], None, None), id="unknown-status"),
    pytest.param("delivered", {"status": "delivered", "at": NOW + 20}, "anyone", NOW + 20,
                 (False, "duplicate", "delivered", True, [], None, None), id="duplicate-callback"),
    pytest.param("sent", {"status": "delivered", "at": NOW + 20}, "anyone", NOW + 20,
                 (True, "applied", "delivered", True, [("delivered", 0, "sent", True, None)], None, None),
                 id="delivered"),
    pytest.param("sent", {"status": "delivered", "at": NOW + 20, "attempt": None}, "anyone", NOW + 20,
                 (True, "applied", "delivered", True, [("delivered", 0, "sent", True, None)], None, None),
                 id="attempt-found-by-provider-id"),
    pytest.param("sent", {"status": "read", "at": NOW + 30}, "anyone", NOW + 30,
                 (True, "applied", "read", True,
                  [("delivered", 0, "sent", False, None), ("read", 0, "delivered", True, None)], None, None),
                 id="read-first-implies-delivered"),
    pytest.param("sent", {"status": "sent", "at": NOW + 30, "pid": "wamid-1", "source": "poll"}, "anyone", NOW + 30,
                 (True, "repeat", "sent", False, [], None, None), id="status-the-attempt-has-is-a-repeat"),
    pytest.param("in_doubt", {"status": "sent", "at": NOW + 5}, "anyone", NOW + 5,
                 (True, "applied", "sent", False,
                  [("queued", 0, "routed", False, None), ("sent", 0, "queued", False, None)], None, None),
                 id="callback-resolves-an-in-doubt-attempt"),
    pytest.param("sent", {"status": "failed", "at": NOW + 20, "code": "131026", "cls": "fallback"}, "anyone",
                 NOW + 20,
                 (True, "hop_failed", "sent", False,
                  [("failed", 0, "sent", False, "fallback_permanent_failure"),
                   ("routed", 1, None, False, "fallback_permanent_failure")],
                  (1, "SMS", "fallback_permanent_failure"), None),
                 id="failure-on-the-current-hop-falls-back"),
    pytest.param("sent", {"status": "failed", "at": NOW + 20, "code": "E", "cls": "instance"}, "anyone", NOW + 20,
                 (True, "hop_failed", "sent", False,
                  [("failed", 0, "sent", False, "fallback_permanent_failure"),
                   ("routed", 1, None, False, "fallback_permanent_failure")],
                  (1, "WHATSAPP", "fallback_permanent_failure"), None),
                 id="instance-failure-tries-another-sender-of-the-channel"),
    pytest.param("sent", {"status": "undelivered", "at": NOW + 20, "cls": "fallback"}, "no_sms", NOW + 20,
                 (True, "hop_failed", "sent", False,
                  [("undelivered", 0, "sent", False, "fallback_permanent_failure"),
                   ("routed", 1, None, False, "fallback_permanent_failure")],
                  (1, "VOICE", "fallback_permanent_failure"), None),
                 id="fallback-respects-consent"),
    pytest.param("sent_whatsapp_only", {"status": "failed", "at": NOW + 20, "code": "131026", "cls": "fallback"},
                 "anyone", NOW + 20,
                 (True, "hop_failed", "failed", True, [("failed", 0, "sent", True, "no_channel_left")], None, None),
                 id="failure-without-channels-left-ends-the-message"),
    pytest.param("sent", {"status": "failed", "at": NOW + 20, "code": "131051", "cls": "final"}, "anyone", NOW + 20,
                 (True, "hop_failed", "failed", True, [("failed", 0, "sent", True, "final_error")], None, None),
                 id="final-error-class-does-not-fall-back"),
    # a code the provider's Capabilities.opt_out_codes hold (streams.convert sets StatusFacts.opt_out)
    pytest.param("sent", {"status": "failed", "at": NOW + 20, "code": "21610", "cls": "final", "opt_out": True},
                 "anyone", NOW + 20,
                 (True, "hop_failed", "failed", True, [("failed", 0, "sent", True, "final_error")], None, "WHATSAPP"),
                 id="twilio-21610-is-a-provider-opt-out"),
    pytest.param("delivered", {"status": "failed", "at": NOW + 30, "code": "21610", "opt_out": True}, "anyone",
                 NOW + 30,
                 (True, "applied", "delivered", True, [], None, "WHATSAPP"),
                 id="provider-opt-out-after-delivery-still-reported"),
    pytest.param("fell_back", {"status": "delivered", "at": NOW + 50}, "anyone", NOW + 50,
                 (True, "applied", "delivered", True, [("delivered", 0, "failed", True, None)], None, None),
                 id="late-delivered-after-fallback-still-wins"),
    pytest.param("fell_back", {"status": "undelivered", "at": NOW + 50}, "anyone", NOW + 50,
                 (True, "applied", "sent", False, [], None, None), id="second-failure-of-a-failed-hop-is-kept-late"),
    pytest.param("whatsapp_only_failed", {"status": "failed", "at": NOW + 50, "source": "poll"}, "anyone", NOW + 50,
                 (True, "repeat", "failed", True, [], None, None), id="polled-failure-repeats-the-callback"),
    # our clock: the delivery deadline
    pytest.param("sent", deadline(), "anyone", DEADLINE,
                 (True, "deadline_fallback", "sent", False,
                  [("expired", 0, "sent", False, "fallback_timeout"), ("routed", 1, None, False, "fallback_timeout")],
                  (1, "SMS", "fallback_timeout"), None),
                 id="deadline-without-delivery-falls-back"),
    pytest.param("deadline_fell_back", deadline(), "anyone", DEADLINE + 1,
                 (False, "deadline_moot", "sent", False, [], None, None), id="deadline-again-after-its-fallback"),
    pytest.param("delivered", deadline(), "anyone", DEADLINE,
                 (False, "deadline_moot", "delivered", True, [], None, None), id="deadline-after-delivery"),
    pytest.param("fell_back", deadline(), "anyone", DEADLINE,
                 (False, "deadline_moot", "sent", False, [], None, None), id="deadline-of-a-hop-no-longer-current"),
    pytest.param("whatsapp_only_failed", deadline(), "anyone", DEADLINE,
                 (False, "deadline_moot", "failed", True, [], None, None), id="deadline-of-an-ended-message"),
    pytest.param("sent_whatsapp_only", deadline(), "anyone", DEADLINE,
                 (False, "deadline_no_fallback", "sent", False, [], None, None), id="deadline-with-no-channel-left"),
    pytest.param("sent", deadline(), "opted_out", DEADLINE,
                 (False, "deadline_no_fallback", "sent", False, [], None, None), id="deadline-with-no-consent-left"),
    pytest.param("sent", {**deadline(), "status": "cancelled_by_clock"}, "anyone", DEADLINE,
                 (False, "unknown_status", "sent", False, [], None, None), id="clock-event-with-unknown-status"),
    # our clock: an urgent notice's time to read
    pytest.param("urgent_delivered", unread(), "anyone", TIME_TO_READ,
                 (True, "escalation_call", "delivered", False, [("routed", 1, None, False, "urgent_unread")],
                  (1, "VOICE", "urgent_unread"), None),
                 id="unread-in-time-routes-one-call"),
    pytest.param("urgent_delivered", unread(NOW + 1000), "anyone", NOW + 1000,
                 (False, "escalation_wait", "delivered", False, [], None, None), id="clock-fired-early-waits"),
    pytest.param("urgent_read", unread(), "anyone", TIME_TO_READ,
                 (False, "escalation_moot", "read", True, [], None, None), id="read-notice-is-moot"),
    pytest.param("urgent_calling", unread(TIME_TO_READ + 5000), "anyone", TIME_TO_READ + 5000,
                 (False, "escalation_moot", "delivered", False, [], None, None),
                 id="time-to-read-of-a-hop-no-longer-current"),
    pytest.param("urgent_delivered", unread(), "no_calls", TIME_TO_READ,
                 (True, "escalation_no_consent", "delivered", True, [], None, None),
                 id="no-voice-consent-settles-the-notice"),
    pytest.param("urgent_delivered", unread(), "no_voice_sender", TIME_TO_READ,
                 (True, "escalation_no_channel_left", "delivered", True, [], None, None),
                 id="no-voice-sender-settles-the-notice"),
]


def facts(status: str, at: int, pid: str = "wamid-1", attempt: str | None = "m1:0", code: str | None = None,
          cls: str | None = None, source: str = "provider", opt_out: bool = False) -> StatusFacts:
    return StatusFacts(f"meta:{pid}:{status}:{source}", "meta", "WHATSAPP", pid, status, at, attempt, code, cls,
                       source, opt_out)


@pytest.mark.parametrize(("given", "event", "who", "now", "expected"), APPLY)
def test_apply(given: str, event: dict[str, object], who: str, now: int, expected: tuple[object, ...]) -> None:
    patient = PATIENTS.get(who, Patient())
    r = apply(MESSAGES[given](), facts(**event), patient, world_at(now, who != "no_voice_sender"))  # type: ignore[arg-type]
    assert plain(r) == expected


def plain(r: Reconciled) -> tuple[object, ...]:
    outcomes = [(o.status, o.hop, o.previous, o.is_final, o.reason) for o in r.outcomes]
    nxt = (r.next_hop.hop, r.next_hop.channel, r.next_hop.reason) if r.next_hop else None
    msg = r.message
    if nxt is not None:
        assert msg is not None and msg.current == r.next_hop  # the next hop is the message's current one
    return (r.applied, r.reason, msg.status if msg else None, msg.is_final if msg else None, outcomes, nxt,
            r.opt_out_channel)


def test_statuses_in_any_order_give_the_same_final_state_and_one_outcome_per_change() -> None:
    events = [status("delivered", NOW + 20), status("read", NOW + 30)]
    finals = set()
    for order in itertools.permutations(events):
        msg = sent_message()
        outs = []
        for e in order:
            r = apply(msg, e, Patient(), world(NOW + 40))
            assert r.message is not None
            msg = r.message
            outs.extend(o.status for o in r.outcomes)
        finals.add(msg.status)
        assert sorted(outs) == ["delivered", "read"]
    assert finals == {"read"}


def test_read_first_implies_delivered_and_a_late_delivered_changes_nothing() -> None:
    msg = sent_message()
    r = apply(msg, status("read", NOW + 30), Patient(), world(NOW))
    assert [o.status for o in r.outcomes] == ["delivered", "read"]
    assert r.message is not None
    r2 = apply(r.message, status("delivered", NOW + 20), Patient(), world(NOW))
    assert r2.outcomes == () and r2.message is not None and r2.message.status == "read"
    assert [e.status for e in r2.message.history][-3:] == ["delivered", "read", "delivered"]


def test_deadline_without_delivery_falls_back_once() -> None:
    msg = sent_message()
    deadline = status("expired", DEADLINE, pid="m1:0", source="deadline")
    r = apply(msg, deadline, Patient(), world(DEADLINE))
    assert r.reason == "deadline_fallback" and r.next_hop is not None and r.next_hop.reason == "fallback_timeout"
    assert r.message is not None
    again = apply(r.message, deadline, Patient(), world(DEADLINE + 1))
    assert again.reason in ("duplicate", "deadline_moot") and again.next_hop is None


def test_a_callback_resolves_an_in_doubt_attempt() -> None:
    r = apply(in_doubt(), status("sent", NOW + 5), Patient(), world(NOW + 5))
    assert r.message is not None
    hop = r.message.hops[0]
    assert (hop.ledger, hop.provider_message_id, hop.status) == (Ledger.ACCEPTED, "wamid-1", "sent")


@pytest.mark.parametrize(("occurred", "received", "at"), [
    # Meta: "timestamp": "1764090000" (seconds); the gateway received the callback 230 ms into it
    pytest.param(1_764_090_000_000, 1_764_090_000_230, 1_764_090_000_230, id="whole-second-refined-by-receipt"),
    pytest.param(1_764_090_000_000, 1_764_090_000_000, 1_764_090_000_000, id="receipt-at-the-second-itself"),
    # a receipt in a later second (a retried or queued webhook) says nothing finer: the provider's time stands
    pytest.param(1_764_090_000_000, 1_764_090_001_230, 1_764_090_000_000, id="receipt-in-a-later-second"),
    pytest.param(1_764_090_000_000, 1_764_090_001_000, 1_764_090_000_000, id="receipt-at-the-next-second"),
    # a provider time with milliseconds is kept as given, as is one later than the receipt (clock skew)
    pytest.param(1_764_090_000_120, 1_764_090_000_230, 1_764_090_000_120, id="provider-time-with-milliseconds"),
    pytest.param(1_764_090_001_000, 1_764_090_000_230, 1_764_090_001_000, id="provider-time-after-receipt"),
    pytest.param(1_764_090_000_000, None, 1_764_090_000_000, id="no-receipt"),
    # no provider time: the receipt
    pytest.param(None, 1_764_090_000_230, 1_764_090_000_230, id="no-provider-time"),
    pytest.param(0, 1_764_090_000_230, 1_764_090_000_230, id="zero-provider-time"),
    pytest.param(None, None, 0, id="no-time-at-all"),
])
def test_status_time(occurred: int | None, received: int | None, at: int) -> None:
    assert status_time(occurred, received) == at


# -- history never runs backwards: one rule for every status after the attempt moved past it ----------
def twilio_delivered() -> Message:
    """An SMS accepted as `queued` (the send result), then `sent` and `delivered` callbacks."""
    d = intake(Patient(), None, request(channels=("SMS",)), world(NOW), {})
    assert d.message is not None
    msg = mark_in_flight(d.message, d.message.hops[0], NOW)
    msg, _ = accepted(msg, msg.hops[0], "SM1", "queued", NOW + 10)
    for s, at in (("sent", NOW + 20), ("delivered", NOW + 30)):
        r = apply(msg, sms(s, at), Patient(), world(at))
        assert r.message is not None
        msg = r.message
    return msg


def sms(s: str, at: int, *, code: str | None = None, source: str = "provider", suffix: str = "") -> StatusFacts:
    return StatusFacts(f"twilio:SM1:{s}{suffix}", "twilio", "SMS", "SM1", s, at, "m1:0", code,
                       "fallback" if code else None, source)


LATE = [
    # (case, event after `delivered`, reason, appended (status, late) or None, message status)
    ("replayed_queued", sms("queued", NOW + 99), "repeat", None, "delivered"),
    ("replayed_sent_same_id", sms("sent", NOW + 99), "duplicate", None, "delivered"),
    ("replayed_sent_other_id", sms("sent", NOW + 99, suffix=":replay"), "repeat", None, "delivered"),
    ("polled_delivered", sms("delivered", NOW + 99, source="poll", suffix=":poll"), "repeat", None, "delivered"),
    ("undelivered_30003", sms("undelivered", NOW + 99, code="30003"), "applied", ("undelivered", True), "delivered"),
    ("failed_21610", sms("failed", NOW + 99, code="30005"), "applied", ("failed", True), "delivered"),
    ("read", sms("read", NOW + 99), "applied", ("read", False), "read"),
]


@pytest.mark.parametrize(("case", "event", "reason", "appended", "status"), LATE, ids=[row[0] for row in LATE])
def test_after_delivered_a_late_status_is_kept_late_or_dropped_never_the_latest(
        case: str, event: StatusFacts, reason: str, appended: tuple[str, bool] | None, status: str) -> None:
    msg = twilio_delivered()
    r = apply(msg, event, Patient(), world(NOW + 100))
    assert r.reason == reason and r.message is not None
    after = r.message
    added = after.history[len(msg.history):]
    assert [(e.status, e.late) for e in added] == ([appended] if appended else [])
    assert after.status == status and r.next_hop is None
    latest = st.latest(after.history)
    assert latest is not None and latest.status == status
    state = convert.state_record(after)
    assert (state["status"], state["error_code"], state["reason"]) == (status, None, None)
    assert after.hops[0].error_code is None  # a late failure does not mark the delivered attempt either
    assert [o.status for o in r.outcomes] == ([status] if appended and not appended[1] else [])


def test_a_late_status_is_kept_once_whatever_its_kind() -> None:
    msg = twilio_delivered()
    for event in (sms("queued", NOW + 40), sms("undelivered", NOW + 41, code="30003")):
        for suffix in ("", ":again"):
            r = apply(msg, replace(event, event_id=event.event_id + suffix), Patient(), world(NOW + 50))
            assert r.message is not None
            msg = r.message
    late = [(e.status, e.error_code) for e in msg.history if e.late]
    assert late == [("undelivered", "30003")]  # queued: the send result said so already


def test_multi_device_failed_then_delivered_ends_delivered_without_an_error_code() -> None:
    """WhatsApp on several devices: `failed` (one device) and later `delivered` (another). The failure
    moved the attempt when it came, so it is not late; `delivered` wins and the message has no code."""
    msg = sent_message(channels=("WHATSAPP",))
    r = apply(msg, status("failed", NOW + 20, code="131026", cls="fallback"), Patient(), world(NOW + 20))
    assert r.message is not None and r.message.status == "failed"
    assert convert.state_record(r.message)["error_code"] == "131026"
    r = apply(r.message, status("delivered", NOW + 30), Patient(), world(NOW + 30))
    assert r.message is not None and r.message.status == "delivered"
    assert [(e.status, e.late) for e in r.message.history][-2:] == [("failed", False), ("delivered", False)]
    state = convert.state_record(r.message)
    assert (state["status"], state["error_code"], state["reason"]) == ("delivered", None, None)
