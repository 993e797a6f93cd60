"""Outbound webhook decisions as tables: who gets an event, its body, backoff and give-up, the breaker."""
from __future__ import annotations

import pytest

from streams.decide import webhooks as wh

ALL_TYPES = frozenset(wh.EVENT_TYPES)
A_FINAL = wh.Endpoint("a-final", "clinic-a", "https://a.example/h", ALL_TYPES, wh.FINAL_ONLY, created_at_ms=100)
A_ALL = wh.Endpoint("a-all", "clinic-a", "https://a.example/h2", frozenset({wh.STATUS_CHANGED}), wh.EVERY_CHANGE)
A_INBOUND = wh.Endpoint("a-inbound", "clinic-a", "https://a.example/h3", frozenset({wh.INBOUND}))
B_ALL = wh.Endpoint("b", "clinic-b", "https://b.example/h", ALL_TYPES, wh.EVERY_CHANGE)
ENDPOINTS = (A_FINAL, A_ALL, A_INBOUND, B_ALL)


def event(kind: str, *, org: str = "clinic-a", final: bool = True, at: int = 1_000) -> wh.Event:
    return wh.Event(kind, org, "m-1", "m-1:3", 3, at, final=final, data={"message_id": "m-1"},
                    phi={"text": "I cannot come"})


@pytest.mark.parametrize(("ev", "expected"), [
    pytest.param(event(wh.STATUS_CHANGED, final=True), ["a-final", "a-all"], id="final-status-to-both-modes"),
    pytest.param(event(wh.STATUS_CHANGED, final=False), ["a-all"], id="intermediate-status-to-every-change-only"),
    pytest.param(event(wh.INBOUND), ["a-final", "a-inbound"], id="inbound-to-subscribers-of-it"),
    pytest.param(event(wh.CONFIRMED, org="clinic-b"), ["b"], id="never-another-organization"),
    pytest.param(event(wh.ATTENTION, org="clinic-c"), [], id="organization-without-endpoints"),
    pytest.param(event(wh.STATUS_CHANGED, at=50), ["a-all"], id="before-the-endpoint-existed"),
])
def test_subscribers(ev, expected):
    assert [e.endpoint_id for e in wh.subscribers(ENDPOINTS, ev)] == expected


@pytest.mark.parametrize(("endpoint", "text_in_body"), [
    pytest.param(A_FINAL, False, id="without-phi-flag-no-text"),
    pytest.param(wh.Endpoint("p", "clinic-a", "https://p", ALL_TYPES, include_phi=True), True, id="phi-flag-text"),
])
def test_body_carries_the_patients_words_only_for_a_phi_endpoint(endpoint, text_in_body):
    body = wh.body(endpoint, event(wh.INBOUND))
    assert body["type"] == wh.INBOUND and body["timestamp"] == 1_000
    assert ("text" in body["data"]) is text_in_body


def test_delivery_id_is_stable_per_endpoint_and_final_only_collapses_replays():
    first, again = event(wh.STATUS_CHANGED), wh.Event(wh.STATUS_CHANGED, "clinic-a", "m-1", "m-1:4", 4, 2_000)
    assert wh.delivery_id(A_FINAL, first) == wh.delivery_id(A_FINAL, again)  # one final event per message
    assert wh.delivery_id(A_ALL, first) != wh.delivery_id(A_ALL, again)      # every change its own
    assert wh.delivery_id(A_ALL, first) != wh.delivery_id(B_ALL, first)
    assert wh.delivery_id(A_ALL, first).startswith("evt_")


STATE = {"message_id": "m-1", "organization_id": "clinic-a", "status": "delivered", "is_final": True,
         "channel": "SMS", "provider": "twilio", "reason": None, "error_code": None,
         "history": [{"status": "accepted", "at": 1, "channel": "SMS", "late": False},
                     {"status": "delivered", "at": 2, "channel": "SMS", "late": False}]}


@pytest.mark.parametrize(("state", "expected"), [
    pytest.param(STATE, ("delivered", True, 2), id="final"),
    pytest.param({**STATE, "status": "sent", "is_final": False}, ("sent", False, 2), id="intermediate"),
    pytest.param({**STATE, "history": [*STATE["history"], {"status": "sent", "at": 3, "late": True}]}, None,
                 id="late-entry-changes-nothing"),
])
def test_from_state(state, expected):
    ev = wh.from_state(state, 5)
    assert (None if ev is None else (ev.data["status"], ev.final, ev.sequence)) == expected


CARE = {"event_id": "e-1", "type": wh.CONFIRMED, "organization_id": "clinic-a", "recipient_id": "r",
        "appointment_id": "ap-1", "message_id": "m-1", "reason": None, "channel": "SMS", "occurred_at": 7,
        "details": {}}


@pytest.mark.parametrize(("rec", "kind"), [
    pytest.param(CARE, wh.CONFIRMED, id="confirmed"),
    pytest.param({**CARE, "type": wh.ATTENTION, "reason": "urgent_failed"}, wh.ATTENTION, id="attention"),
    pytest.param({**CARE, "type": "conversation.resume"}, None, id="internal-command-not-an-event"),
])
def test_from_care(rec, kind):
    ev = wh.from_care(rec, "words")
    assert (None if ev is None else ev.event_type) == kind


@pytest.mark.parametrize(("org", "made"), [pytest.param("clinic-a", True, id="known-organization"),
                                           pytest.param(None, False, id="organization-unknown")])
def test_from_inbound(org, made):
    rec = {"event_id": "twilio:SM1", "organization_id": org, "recipient_id": "r", "channel": "SMS", "kind": "TEXT",
           "payload": None, "context_provider_message_id": None, "received_at": 9}
    assert (wh.from_inbound(rec, None) is not None) is made


@pytest.mark.parametrize(("failures", "wait_ms"), [
    pytest.param(1, 1_000, id="first-failure-1s"),
    pytest.param(2, 10_000, id="second-10s"),
    pytest.param(3, 60_000, id="third-1min"),
    pytest.param(4, 600_000, id="fourth-10min"),
    pytest.param(5, 3_600_000, id="fifth-1h"),
    pytest.param(30, 3_600_000, id="then-hourly"),
])
def test_backoff_follows_the_delay_steps(failures, wait_ms):
    assert wh.BACKOFF_MS[wh.backoff_level(failures)] == wait_ms


DAY = 24 * 3600 * 1000


@pytest.mark.parametrize(("first", "now", "wait", "gives_up"), [
    pytest.param(None, 0, 1_000, False, id="first-failure"),
    pytest.param(0, DAY - 3_600_000, 3_600_000, False, id="last-try-at-24h"),
    pytest.param(0, DAY - 3_599_999, 3_600_000, True, id="next-try-past-24h"),
])
def test_gives_up_after_24h(first, now, wait, gives_up):
    assert wh.gives_up(first, now, wait) is gives_up


@pytest.mark.parametrize(("gate", "returned", "now", "step", "parked"), [
    pytest.param(wh.Gate(), False, 0, wh.Step.SEND, 0, id="closed-sends"),
    pytest.param(wh.Gate(1, 1_000, 1), False, 500, wh.Step.HOLD, 2, id="open-holds-new-record"),
    pytest.param(wh.Gate(1, 1_000, 1), True, 1_000, wh.Step.SEND, 0, id="failed-record-back-probes"),
    pytest.param(wh.Gate(2, 10_000, 3), True, 5_000, wh.Step.HOLD, 3, id="back-early-holds-again"),
    pytest.param(wh.Gate(0, 0, 2), False, 9_000, wh.Step.HOLD, 3, id="closed-but-backlog-new-waits-behind"),
    pytest.param(wh.Gate(0, 0, 2), True, 9_000, wh.Step.SEND, 1, id="closed-backlog-record-back-sends"),
])
def test_admit(gate, returned, now, step, parked):
    got, after = wh.admit(gate, returned, now)
    assert (got, after.parked) == (step, parked)


def test_the_breaker_through_an_outage():
    gate = wh.failed(wh.Gate(), 0)  # the first POST fails: the record is held 1 s on the 1 s topic
    assert (gate.failures, gate.open_until_ms, gate.parked, gate.level) == (1, 1_000, 1, 0)
    step, gate = wh.admit(gate, False, 200)  # a new record waits behind it, same topic, same due
    assert step is wh.Step.HOLD and wh.hold_due_ms(gate, 200) == 1_000
    step, gate = wh.admit(gate, True, 1_000)  # the failed one is back: the probe
    assert step is wh.Step.SEND
    gate = wh.failed(gate, 1_000)  # fails again: 10 s topic
    assert (gate.open_until_ms, gate.level, gate.parked) == (11_000, 1, 2)
    gate = wh.succeeded(wh.admit(gate, True, 11_000)[1])  # back and delivered: closed
    assert (gate.failures, gate.open_until_ms, gate.parked, gate.level) == (0, 0, 1, 1)
    step, gate = wh.admit(gate, False, 11_001)  # closed, one still held: a new record goes behind it
    assert step is wh.Step.HOLD and gate.level == 1 and wh.hold_due_ms(gate, 11_001) == 11_001


@pytest.mark.parametrize(("status", "ok"), [pytest.param(200, True, id="200"), pytest.param(204, True, id="204"),
                                            pytest.param(301, False, id="redirect-not-followed"),
                                            pytest.param(410, False, id="410"), pytest.param(503, False, id="503")])
def test_outcome_of_status(status, ok):
    assert wh.outcome_of_status(status) is ok
