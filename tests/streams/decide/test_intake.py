from dataclasses import replace

import pytest

from streams.care.loopguard import LoopConfig
from streams.decide.consent import ALL_CHANNELS, Consent
from streams.decide.intake import Action, decide
from streams.decide.ratelimit import Limit
from streams.decide.records import Patient
from streams.decide.world import Policy

from .helpers import request, world

NOW = 1_000_000


def run(patient=None, existing=None, req=None, w=None, shared=None):
    return decide(patient or Patient(), existing, req or request(), w or world(NOW), shared or {})


def test_new_request_is_accepted_routed_and_dispatched_on_hop_0() -> None:
    d = run()
    assert d.action is Action.DISPATCH
    assert d.hop is not None and (d.hop.hop, d.hop.attempt_id, d.hop.channel) == (0, "m1:0", "WHATSAPP")
    assert d.hop.deadline_ms == NOW + 3_600_000
    assert [o.status for o in d.outcomes] == ["accepted", "routed"]
    assert d.message is not None and d.message.status == "routed"
    assert d.patient.question is not None and d.patient.question.message_id == "m1"  # reminder asks
    assert [p.message_id for p in d.patient.pending] == ["m1"]


def test_urgent_deadline_is_shorter() -> None:
    d = run(req=request(priority="URGENT"))
    assert d.hop is not None and d.hop.deadline_ms == NOW + 120_000


def test_replay_of_a_routed_request_is_ignored() -> None:
    first = run()
    again = run(first.patient, first.message)
    assert again.action is Action.IGNORE and again.outcomes == ()


def test_replay_whose_message_record_was_lost_is_routed_again() -> None:
    """A worker died after storing the patient (with the idempotency key) but before the message:
    the redelivered request must not be dropped as a replay, or the message is lost for good."""
    first = run()
    again = run(first.patient, None)
    assert again.action is Action.DISPATCH and again.hop is not None and again.hop.attempt_id == "m1:0"
    assert again.message is not None and again.message.status == "routed"
    assert again.patient.idempotency == first.patient.idempotency


def test_duplicate_request_is_cancelled_and_conflict_failed() -> None:
    first = run()
    dup = run(first.patient, None, request("m2", idempotency_key="key-m1", fingerprint="fp-m1"))
    assert dup.action is Action.FINISH and dup.reason == "duplicate"
    assert [o.status for o in dup.outcomes] == ["accepted", "cancelled"]
    assert dup.message is not None and dup.message.is_final
    conflict = run(first.patient, None, request("m3", idempotency_key="key-m1", fingerprint="other"))
    assert conflict.reason == "idempotency_conflict" and conflict.outcomes[-1].status == "failed"


def test_dedup_window_from_settings() -> None:
    first = run(w=world(NOW, dedup_window_ms=1000))
    later = run(first.patient, None, request("m2", idempotency_key="key-m1", fingerprint="fp-m1"),
                world(NOW + 1000, dedup_window_ms=1000))
    assert later.action is Action.DISPATCH


def test_opted_out_patient_is_blocked_no_consent() -> None:
    patient = Patient(consent=Consent().apply(ALL_CHANNELS, False, 1, "keyword"))
    d = run(patient)
    assert d.action is Action.FINISH and d.reason == "blocked_no_consent"
    assert d.outcomes[-1].status == "blocked" and d.outcomes[-1].is_final
    assert d.patient.pending == ()


def test_scheduled_request_is_parked_until_send_at() -> None:
    d = run(req=request(send_at_ms=NOW + 5000))
    assert (d.action, d.reason, d.due_ms) == (Action.PARK, "scheduled", NOW + 5000)
    back = decide(d.patient, d.message, request(send_at_ms=NOW + 5000), world(NOW + 5000), {})
    assert back.action is Action.DISPATCH
    assert [o.status for o in back.outcomes] == ["routed"]  # accepted was emitted once, at first sight


def test_expired_request_is_not_sent() -> None:
    d = run(req=request(expires_at_ms=NOW))
    assert d.action is Action.FINISH and d.outcomes[-1].status == "expired"


def test_fourth_normal_message_within_the_hour_is_delayed_by_the_recipient_cap() -> None:
    patient = Patient()
    for i in range(3):
        d = run(patient, None, request(f"m{i}"))
        assert d.action is Action.DISPATCH
        patient = d.patient
    d = run(patient, None, request("m9"))
    assert (d.action, d.reason, d.limiter) == (Action.PARK, "rate_limited", "hour")
    assert d.due_ms == NOW + 1_200_000
    assert d.message is not None and d.message.status == "accepted"


def test_urgent_messages_have_their_own_budget() -> None:
    patient = Patient()
    for i in range(3):
        patient = run(patient, None, request(f"m{i}")).patient
    d = run(patient, None, request("u1", priority="URGENT"))
    assert d.action is Action.DISPATCH


def test_org_and_sender_buckets_are_shared_state_returned_to_the_caller() -> None:
    w = world(NOW, org=Limit(1, 1))
    d = run(w=w)
    assert d.action is Action.DISPATCH and d.shared["org:clinic"].tokens == 0
    d2 = run(None, None, request("m2"), w, d.shared)
    assert (d2.action, d2.limiter, d2.due_ms) == (Action.PARK, "org", NOW + 1000)


def test_with_every_circuit_open_the_first_choice_is_still_routed() -> None:
    w = world(NOW, open_ids=frozenset({"wa-meta", "wa-twilio", "sms-twilio", "voice-twilio"}))
    d = run(w=w)
    assert d.action is Action.DISPATCH and d.hop is not None and d.hop.instance_id == "wa-meta"


def test_an_open_circuit_on_the_first_sender_routes_to_the_next() -> None:
    d = run(w=world(NOW, open_ids=frozenset({"wa-meta"})))
    assert d.hop is not None and d.hop.instance_id == "wa-twilio"


def test_automated_replies_hit_the_loop_cap() -> None:
    policy = replace(Policy(), loop=LoopConfig(cap=2), urgent_hour=Limit(100, 1))
    patient = Patient()
    actions = []
    for i in range(3):
        d = run(patient, None, request(f"a{i}", automated=True, priority="URGENT"), world(NOW + i, policy=policy))
        actions.append((d.action, d.reason, d.alert))
        patient = d.patient
    assert actions[:2] == [(Action.DISPATCH, "first_choice", None)] * 2
    assert actions[2] == (Action.FINISH, "loop_cap", "loop_cap")


OPTED_OUT = Consent().apply(ALL_CHANNELS, False, NOW - 10, "keyword")
EXHAUSTED = replace(Policy(), loop=LoopConfig(cap=1), urgent_hour=Limit(1, 1))


def _used_up(patient: Patient) -> Patient:
    """One automated reply sent a moment ago: the urgent budget and the loop cap (1) are spent."""
    d = run(patient, None, request("earlier", automated=True, priority="URGENT", channels=("WHATSAPP",),
                                   template="help"), world(NOW - 5, policy=EXHAUSTED))
    assert d.action is Action.DISPATCH
    return d.patient


def _confirmation(template: str, message_id: str = "c1", *, notice: bool = True):
    return request(message_id, automated=True, priority="URGENT", channels=("WHATSAPP",), template=template,
                   asks=None, consent_notice=notice)


CONSENT_NOTICE_ROWS = [
    # (id, patient, request, action, reason)
    ("opt-out-confirmation-reaches-an-opted-out-patient", Patient(consent=OPTED_OUT),
     _confirmation("opt_out_confirmation"), Action.DISPATCH, "first_choice"),
    ("opt-out-confirmation-outside-the-caps-and-the-loop-cap", replace(_used_up(Patient()), consent=OPTED_OUT),
     _confirmation("opt_out_confirmation"), Action.DISPATCH, "first_choice"),
    ("opt-in-confirmation-outside-the-caps", _used_up(Patient()), _confirmation("opt_in_confirmation"),
     Action.DISPATCH, "first_choice"),
    ("opt-in-confirmation-after-a-new-opt-out-is-blocked", Patient(consent=OPTED_OUT),
     _confirmation("opt_in_confirmation"), Action.FINISH, "blocked_no_consent"),
    ("the-same-template-from-anyone-else-is-blocked", Patient(consent=OPTED_OUT),
     _confirmation("opt_out_confirmation", notice=False), Action.FINISH, "blocked_no_consent"),
    ("an-ordinary-automated-reply-stays-capped", _used_up(Patient()),
     request("h2", automated=True, priority="URGENT", channels=("WHATSAPP",), template="help", asks=None),
     Action.PARK, "rate_limited"),
    ("a-paused-conversation-gets-no-confirmation",
     Patient(consent=OPTED_OUT, loop=replace(Patient().loop, paused_until_ms=NOW + 60_000)),
     _confirmation("opt_out_confirmation"), Action.FINISH, "conversation_paused"),
]


@pytest.mark.parametrize(("patient", "req", "action", "reason"), [r[1:] for r in CONSENT_NOTICE_ROWS],
                         ids=[r[0] for r in CONSENT_NOTICE_ROWS])
def test_consent_confirmations(patient, req, action, reason) -> None:
    d = run(patient, None, req, world(NOW, policy=EXHAUSTED))
    assert (d.action, d.reason) == (action, reason)
    if action is Action.DISPATCH:
        assert d.hop is not None and d.hop.channel == "WHATSAPP"
        assert NOW in d.patient.loop.automated  # counted, so a machine answering it still looks like one
