"""fallback: the next hop's route and the end of a hop, as tables of named cases over plain data."""
from dataclasses import replace

import pytest

from streams.decide import lifecycle
from streams.decide import status as st
from streams.decide.fallback import content_of, end_hop, new_hop, next_route
from streams.decide.intake import new_message
from streams.decide.records import Ledger, Message, Patient
from streams.decide.routing import Content, Route

from .helpers import SMS, VOICE, WA_TWILIO, consent_of, plain_route, request, sent_message, world

NOW = 1_000_000
LATER = NOW + 20
REOPEN = LATER + 30_000  # helpers.world: an open circuit lets a trial through 30 s on


def message(state: str = "sent", **req: object) -> Message:
    """hop 0 taken by the provider, `state` its latest status (sent, delivered)."""
    return sent_message(NOW, status=state, **req)


NEXT = [
    # (request changes, hop 0 status, patient: (opted out, WhatsApp windows), open circuits, keyword args)
    #   -> route as plain data
    pytest.param({}, "sent", ((), {}), (), {},
                 ("route", "SMS", "sms-twilio", False, "fallback_timeout"), id="next-channel-in-request-order"),
    pytest.param({}, "sent", ((), {}), (), {"same_channel": True},
                 ("route", "WHATSAPP", "wa-twilio", True, "fallback_timeout"),
                 id="instance-failed-another-sender-of-the-same-channel"),
    pytest.param({"channels": ("WHATSAPP",)}, "sent", ((), {}), ("wa-twilio",), {"same_channel": True},
                 ("route", "WHATSAPP", "wa-twilio", True, "fallback_timeout"),
                 id="same-channel-every-sender-open-ignores-circuits"),
    pytest.param({}, "sent", ((), {}), (), {"avoid": frozenset({"sms-twilio"})},
                 ("route", "VOICE", "voice-twilio", False, "fallback_timeout"), id="avoided-instance-skipped"),
    pytest.param({}, "sent", ((), {}), (), {"only": ("VOICE",)},
                 ("route", "VOICE", "voice-twilio", False, "fallback_timeout"), id="only-these-channels"),
    pytest.param({}, "sent", (("SMS",), {}), (), {},
                 ("route", "VOICE", "voice-twilio", False, "fallback_timeout"), id="consent-respected"),
    pytest.param({}, "sent", (("SMS", "VOICE"), {}), (), {},
                 ("no_route", "no_channel_left", None, (("SMS", "no_consent"), ("VOICE", "no_consent"))),
                 id="nothing-consented-left"),
    pytest.param({"channels": ("WHATSAPP",)}, "sent", ((), {}), (), {},
                 ("no_route", "no_channel_left", None, ()), id="single-channel-tried"),
    pytest.param({}, "delivered", ((), {}), (), {},
                 ("no_route", "no_channel_left", None, ()), id="delivered-message-does-not-change-channel"),
    pytest.param({}, "delivered", ((), {}), (), {"same_channel": True},
                 ("route", "WHATSAPP", "wa-twilio", True, "fallback_timeout"),
                 id="delivered-message-only-another-sender-of-its-channel"),
    pytest.param({}, "sent", ((), {"wa-twilio": LATER - 1000}), (), {"same_channel": True},
                 ("route", "WHATSAPP", "wa-twilio", False, "fallback_timeout"),
                 id="patient-window-lets-free-form-through"),
    pytest.param({}, "sent", ((), {}), ("sms-twilio",), {},
                 ("route", "VOICE", "voice-twilio", False, "fallback_timeout"), id="open-circuit-skipped"),
    pytest.param({}, "sent", ((), {}), ("sms-twilio", "voice-twilio"), {},
                 ("route", "SMS", "sms-twilio", False, "fallback_timeout"),
                 id="every-remaining-circuit-open-routes-ignoring-them"),
    pytest.param({"channels": ("SMS", "WHATSAPP"), "template": None, "has_text": True}, "sent", ((), {}),
                 ("wa-meta",), {},
                 ("no_route", "circuit_open", REOPEN, (("WHATSAPP", "whatsapp_window_closed"),)),
                 id="circuit-open-and-nothing-usable-without-it-waits-for-the-circuit"),
]


@pytest.mark.parametrize(("req", "state", "patient", "open_ids", "kw", "decision"), NEXT)
def test_next_route(req: dict[str, object], state: str, patient: tuple[tuple[str, ...], dict[str, int]],
                    open_ids: tuple[str, ...], kw: dict[str, object], decision: tuple[object, ...]) -> None:
    opted_out, windows = patient
    who = Patient(consent=consent_of(opted_out), windows=tuple(windows.items()))
    found = next_route(message(state, **req), who, world(LATER, open_ids=frozenset(open_ids)), "fallback_timeout",
                       **kw)  # type: ignore[arg-type]
    assert plain_route(found) == decision


@pytest.mark.parametrize(("req", "status", "content"), [
    pytest.param({}, "APPROVED", Content("appointment_reminder", False, True, "APPROVED"), id="template"),
    pytest.param({}, "PENDING", Content("appointment_reminder", False, True, "PENDING"),
                 id="template-awaiting-review"),
    pytest.param({"template": None, "has_text": True}, "PENDING", Content(None, True, False, "UNKNOWN"),
                 id="free-text-has-no-review"),
    pytest.param({"has_text": True}, "APPROVED", Content("appointment_reminder", True, True, "APPROVED"),
                 id="template-and-text"),
])
def test_content_of(req: dict[str, object], status: str, content: Content) -> None:
    reviewed = replace(world(NOW), template_status=lambda name, language: status)
    assert content_of(new_message(request(**req), NOW), reviewed) == content


@pytest.mark.parametrize(("req", "routed_before", "found", "expected"), [
    pytest.param({}, False, Route("SMS", SMS, False, "fallback_timeout"),
                 (0, "m1:0", "SMS", "sms-twilio", "twilio", "fallback_timeout", LATER + 3_600_000, False),
                 id="first-hop-is-hop-0"),
    pytest.param({}, True, Route("SMS", SMS, False, "fallback_timeout"),
                 (1, "m1:1", "SMS", "sms-twilio", "twilio", "fallback_timeout", LATER + 3_600_000, False),
                 id="next-hop-numbered-after-the-current"),
    pytest.param({"priority": "URGENT"}, True, Route("VOICE", VOICE, False, "urgent_unread"),
                 (1, "m1:1", "VOICE", "voice-twilio", "twilio", "urgent_unread", LATER + 120_000, False),
                 id="urgent-has-the-short-deadline"),
    pytest.param({}, True, Route("WHATSAPP", WA_TWILIO, True, "fallback_permanent_failure"),
                 (1, "m1:1", "WHATSAPP", "wa-twilio", "twilio", "fallback_permanent_failure", LATER + 3_600_000, True),
                 id="template-use-carried"),
])
def test_new_hop(req: dict[str, object], routed_before: bool, found: Route, expected: tuple[object, ...]) -> None:
    msg = sent_message(NOW, **req) if routed_before else new_message(request(**req), NOW)
    h = new_hop(msg, found, world(LATER))
    assert (h.hop, h.attempt_id, h.channel, h.instance_id, h.provider, h.reason, h.deadline_ms,
            h.use_template) == expected
    assert (h.routed_at_ms, h.ledger, h.status) == (LATER, Ledger.PLANNED, "routed")


def failed_entry(msg: Message, hop: int = 0, status: str = "failed") -> st.Entry:
    h = msg.hops[hop]
    return st.Entry(status, LATER, h.channel, h.provider, h.attempt_id, "E1", "provider")


def fell_back(**req: object) -> Message:
    """hop 0 failed and the message moved to hop 1 (SMS)."""
    msg = sent_message(NOW, **req)
    end = end_hop(msg, msg.hops[0], failed_entry(msg), Patient(), world(LATER), final_error=False,
                  next_reason="fallback_permanent_failure")
    return end.message


def in_flight(**req: object) -> Message:
    """hop 0 with the provider call made and no answer yet."""
    msg = sent_message(NOW, **req)
    return msg.with_hop(replace(msg.hops[0], ledger=Ledger.IN_FLIGHT, provider_message_id=None))


MESSAGES = {
    "sent": lambda: sent_message(NOW),
    "sent_single_channel": lambda: sent_message(NOW, channels=("WHATSAPP",)),
    "sent_expired": lambda: sent_message(NOW, expires_at_ms=LATER),
    "in_flight": in_flight,
    "delivered": lambda: sent_message(NOW, status="delivered"),
    "cancelled": lambda: lifecycle.finish(sent_message(NOW), "cancelled", NOW + 15, "cancelled")[0],
    "fell_back": fell_back,
    "not_routed": lambda: new_message(request(), NOW),
}

ENDS = [
    # (message, hop that failed, final_error, same_channel) ->
    #   (message status, final, outcomes (status, hop, final, reason), next hop (hop, channel, instance), ledger)
    pytest.param("sent", 0, False, False,
                 ("sent", False, [("failed", 0, False, "fallback_permanent_failure"),
                                  ("routed", 1, False, "fallback_permanent_failure")],
                  (1, "SMS", "sms-twilio"), Ledger.ACCEPTED),
                 id="failure-falls-back-to-the-next-channel"),
    pytest.param("sent", 0, False, True,
                 ("sent", False, [("failed", 0, False, "fallback_permanent_failure"),
                                  ("routed", 1, False, "fallback_permanent_failure")],
                  (1, "WHATSAPP", "wa-twilio"), Ledger.ACCEPTED),
                 id="instance-failure-tries-another-sender"),
    pytest.param("in_flight", 0, False, False,
                 ("sent", False, [("failed", 0, False, "fallback_permanent_failure"),
                                  ("routed", 1, False, "fallback_permanent_failure")],
                  (1, "SMS", "sms-twilio"), Ledger.FAILED),
                 id="attempt-not-accepted-is-marked-failed"),
    pytest.param("sent", 0, True, False,
                 ("failed", True, [("failed", 0, True, "final_error")], None, Ledger.ACCEPTED),
                 id="final-error-ends-the-message"),
    pytest.param("sent_single_channel", 0, False, False,
                 ("failed", True, [("failed", 0, True, "no_channel_left")], None, Ledger.ACCEPTED),
                 id="no-channel-left-ends-the-message"),
    pytest.param("sent_expired", 0, False, False,
                 ("expired", True, [("failed", 0, False, "message_expired"), ("expired", 0, True, "message_expired")],
                  None, Ledger.ACCEPTED),
                 id="expired-message-ends-expired"),
    pytest.param("fell_back", 0, False, False,
                 ("sent", False, [], None, Ledger.ACCEPTED), id="superseded-hop-already-failed-adds-nothing"),
    pytest.param("delivered", 0, False, False,
                 ("delivered", True, [], None, Ledger.ACCEPTED), id="delivered-message-only-records"),
    pytest.param("cancelled", 0, False, False,
                 ("cancelled", True, [("failed", 0, False, "superseded")], None, Ledger.ACCEPTED),
                 id="ended-message-only-records"),
]


@pytest.mark.parametrize(("given", "hop", "final_error", "same_channel", "expected"), ENDS)
def test_end_hop(given: str, hop: int, final_error: bool, same_channel: bool, expected: tuple[object, ...]) -> None:
    msg = MESSAGES[given]()
    end = end_hop(msg, msg.hops[hop], failed_entry(msg, hop), Patient(), world(LATER), final_error=final_error,
                  next_reason="fallback_permanent_failure", same_channel=same_channel)
    outcomes = [(o.status, o.hop, o.is_final, o.reason) for o in end.outcomes]
    nxt = (end.next_hop.hop, end.next_hop.channel, end.next_hop.instance_id) if end.next_hop else None
    ended = end.message.hop(hop)
    assert ended is not None
    assert (end.message.status, end.message.is_final, outcomes, nxt, ended.ledger) == expected
    if end.next_hop is not None:
        assert end.message.current == end.next_hop


def test_a_hop_ending_on_a_message_never_routed_only_records() -> None:
    routed = sent_message(NOW)
    msg = MESSAGES["not_routed"]()
    end = end_hop(msg, routed.hops[0], failed_entry(routed), Patient(), world(LATER), final_error=False,
                  next_reason="fallback_permanent_failure")
    assert end.next_hop is None and not end.message.is_final
    assert [(o.status, o.reason) for o in end.outcomes] == [("failed", "superseded")]
