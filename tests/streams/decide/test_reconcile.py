import itertools
from dataclasses import replace

import pytest

from streams import convert
from streams.decide import status as st
from streams.decide.consent import Consent
from streams.decide.dispatch import accepted, mark_in_flight
from streams.decide.intake import decide as intake
from streams.decide.reconcile import StatusFacts, apply, status_time
from streams.decide.records import Ledger, Message, Patient

from .helpers import request, world

NOW = 1_000_000


def sent_message(**req) -> Message:
    d = intake(Patient(), None, request(**req), world(NOW), {})
    assert d.message is not None
    msg = mark_in_flight(d.message, d.message.hops[0], NOW)
    msg, _ = accepted(msg, msg.hops[0], "wamid-1", "sent", NOW + 10)
    return msg


def status(s: str, at: int, *, pid: str = "wamid-1", attempt: str | None = "m1:0", code=None, cls=None,
           source="provider") -> StatusFacts:
    return StatusFacts(f"meta:{pid}:{s}:{source}", "meta", "WHATSAPP", pid, s, at, attempt, code, cls, source)


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


def test_duplicate_callbacks_are_ignored() -> None:
    msg = sent_message()
    r = apply(msg, status("delivered", NOW + 20), Patient(), world(NOW))
    assert r.message is not None
    again = apply(r.message, status("delivered", NOW + 20), Patient(), world(NOW))
    assert (again.applied, again.reason) == (False, "duplicate")


def test_failure_on_the_current_hop_falls_back_and_late_delivered_still_wins() -> None:
    msg = sent_message()
    r = apply(msg, status("failed", NOW + 20, code="131026", cls="fallback"), Patient(), world(NOW + 20))
    assert r.next_hop is not None and r.next_hop.channel == "SMS"
    assert [(o.status, o.hop, o.is_final) for o in r.outcomes] == [("failed", 0, False), ("routed", 1, False)]
    assert r.message is not None and r.message.status == "sent" and not r.message.is_final
    late = apply(r.message, status("delivered", NOW + 50), Patient(), world(NOW + 50))
    assert late.message is not None and late.message.status == "delivered"
    assert [(o.status, o.previous) for o in late.outcomes] == [("delivered", "failed")]


def test_failure_without_channels_left_ends_the_message() -> None:
    msg = sent_message(channels=("WHATSAPP",))
    r = apply(msg, status("failed", NOW + 20, code="131026", cls="fallback"), Patient(), world(NOW + 20))
    assert r.next_hop is None and r.message is not None and r.message.status == "failed" and r.message.is_final
    assert r.outcomes[-1].is_final and r.outcomes[-1].reason == "no_channel_left"


def test_final_error_class_does_not_fall_back() -> None:
    msg = sent_message()
    r = apply(msg, status("failed", NOW + 20, code="131051", cls="final"), Patient(), world(NOW + 20))
    assert r.next_hop is None and r.message is not None and r.message.is_final


def test_consent_is_respected_by_the_fallback() -> None:
    msg = sent_message()
    patient = Patient(consent=Consent().apply("SMS", False, 1, "keyword"))
    r = apply(msg, status("undelivered", NOW + 20, cls="fallback"), patient, world(NOW + 20))
    assert r.next_hop is not None and r.next_hop.channel == "VOICE"


def test_twilio_21610_is_a_provider_opt_out() -> None:
    msg = sent_message()
    r = apply(msg, status("failed", NOW + 20, code="21610", cls="final"), Patient(), world(NOW + 20))
    assert r.opt_out_channel == "WHATSAPP"


def test_deadline_without_delivery_falls_back_once() -> None:
    msg = sent_message()
    deadline = status("expired", NOW + 3_600_000, pid="m1:0", source="deadline")
    r = apply(msg, deadline, Patient(), world(NOW + 3_600_000))
    assert r.reason == "deadline_fallback" and r.next_hop is not None and r.next_hop.reason == "fallback_timeout"
    assert r.message is not None
    again = apply(r.message, deadline, Patient(), world(NOW + 3_600_001))
    assert again.reason in ("duplicate", "deadline_moot") and again.next_hop is None


def test_deadline_after_delivery_or_with_no_channel_left_is_moot() -> None:
    msg = sent_message()
    r = apply(msg, status("delivered", NOW + 20), Patient(), world(NOW))
    assert r.message is not None
    deadline = status("expired", NOW + 3_600_000, pid="m1:0", source="deadline")
    assert apply(r.message, deadline, Patient(), world(NOW + 3_600_000)).reason == "deadline_moot"
    lone = sent_message(channels=("WHATSAPP",))
    assert apply(lone, deadline, Patient(), world(NOW + 3_600_000)).reason == "deadline_no_fallback"


def test_a_callback_resolves_an_in_doubt_attempt() -> None:
    d = intake(Patient(), None, request(), world(NOW), {})
    assert d.message is not None
    msg = mark_in_flight(d.message, d.message.hops[0], NOW)
    r = apply(msg, status("sent", NOW + 5), Patient(), world(NOW + 5))
    assert r.message is not None
    hop = r.message.hops[0]
    assert (hop.ledger, hop.provider_message_id, hop.status) == (Ledger.ACCEPTED, "wamid-1", "sent")


def test_unknown_message_or_attempt() -> None:
    assert apply(None, status("sent", NOW), Patient(), world(NOW)).reason == "unknown_message"
    msg = sent_message()
    assert apply(msg, status("sent", NOW, pid="x", attempt="zz"), Patient(), world(NOW)).reason == "unknown_attempt"


def test_a_whole_second_provider_time_is_refined_by_a_receipt_within_that_second() -> None:
    # Meta: "timestamp": "1764090000" (seconds); the gateway received the callback 230 ms into it
    assert status_time(1_764_090_000_000, 1_764_090_000_230) == 1_764_090_000_230
    # a receipt in a later second (a retried or queued webhook) says nothing finer: the provider's time stands
    assert status_time(1_764_090_000_000, 1_764_090_001_230) == 1_764_090_000_000
    # a provider time with milliseconds is kept as given, as is one later than the receipt (clock skew)
    assert status_time(1_764_090_000_120, 1_764_090_000_230) == 1_764_090_000_120
    assert status_time(1_764_090_001_000, 1_764_090_000_230) == 1_764_090_001_000
    # no provider time: the receipt
    assert status_time(None, 1_764_090_000_230) == 1_764_090_000_230
    assert status_time(None, None) == 0


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
