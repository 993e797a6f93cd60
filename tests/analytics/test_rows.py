"""Pure row mapping: every topic record becomes the right rows, with stable ids and no PHI."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from analytics import rows as r
from analytics import tables as t
from schemas.phi import PhiCipher, Pseudonymizer
from tests.schemas.examples import CLEAR_PHI, MID, ORG, examples

CIPHER = PhiCipher([("t1", b"\x05" * 32)])
PSEUDO = Pseudonymizer(b"\x06" * 32)
SRC = r.Source("carelay.x", 2, 41)


@pytest.fixture(scope="module")
def ex() -> dict[str, dict[str, Any]]:
    return examples(CIPHER, PSEUDO)


def as_dict(row: r.Row) -> dict[str, Any]:
    return dict(zip(t.COLUMNS[row.table], row.values, strict=True))


def test_every_mapped_value_type_yields_rows_of_the_declared_width(ex):
    for value_type in r.MAPPERS:
        rows = r.to_rows(value_type, ex[value_type], SRC)
        assert rows, value_type
        for row in rows:
            assert len(row.values) == len(t.COLUMNS[row.table]), (value_type, row.table)


def test_no_row_carries_sealed_or_clear_phi(ex):
    for value_type in r.MAPPERS:
        for row in r.to_rows(value_type, ex[value_type], SRC):
            for value in row.values:
                assert not isinstance(value, bytes | dict) or row.table == t.AUDIT_LOG, (value_type, value)
                text = repr(value)
                for clear in CLEAR_PHI:
                    assert clear not in text, (value_type, row.table)
                assert "nonce" not in text and "'ct'" not in text


def test_send_request_is_an_accepted_event_keyed_by_message_id(ex):
    [row] = r.send_request(ex["SendRequest"], SRC)
    d = as_dict(row)
    assert (d["event_type"], d["event_id"], d["message_id"]) == (t.REQUEST_ACCEPTED, MID, MID)
    assert d["organization_id"] == ORG and d["recipient_id"] == ex["SendRequest"]["recipient_id"]
    assert (d["channel"], d["template"], d["priority"], d["status"]) == (
        "WHATSAPP", "urgent_notice", "URGENT", "accepted")
    assert d["accepted_at"] == d["occurred_at"] and d["occurred_at"].tzinfo is not None
    assert (d["source_topic"], d["source_partition"], d["source_offset"]) == ("carelay.x", 2, 41)


def test_dispatch_is_one_attempt_and_a_fallback_hop_only_after_the_first_channel(ex):
    first = r.dispatch_command(ex["DispatchCommand"], SRC)
    assert [as_dict(x)["event_type"] for x in first] == [t.DISPATCH_ATTEMPT]
    hop1 = ex["DispatchCommand"] | {"hop": 1, "attempt_id": MID + ":1", "channel": "SMS", "provider": "twilio",
                                    "reason": "fallback_timeout"}
    rows = [as_dict(x) for x in r.dispatch_command(hop1, SRC)]
    assert [x["event_type"] for x in rows] == [t.DISPATCH_ATTEMPT, t.FALLBACK_HOP]
    assert all(x["event_id"] == MID + ":1" and x["hop"] == 1 and x["reason"] == "fallback_timeout" for x in rows)


def test_provider_status_keeps_price_and_pricing_but_no_organization(ex):
    d = as_dict(r.provider_status(ex["ProviderStatus"], SRC)[0])
    assert (d["price_micros"], d["price_currency"], d["pricing_category"]) == (8000, "USD", "utility")
    assert d["provider_message_id"] == "wamid.HBgM" and d["organization_id"] == ""
    unpriced = ex["ProviderStatus"] | {"price_micros": None, "price_currency": None, "message_id": None}
    d = as_dict(r.provider_status(unpriced, SRC)[0])
    assert d["price_micros"] is None and d["message_id"] == ""


@pytest.mark.parametrize(("billable", "stored"), [(True, 1), (False, 0), (None, None)],
                         ids=["billed", "free", "not-said"])
def test_provider_status_keeps_whether_the_provider_bills_it(ex, billable: bool | None, stored: int | None):
    d = as_dict(r.provider_status(ex["ProviderStatus"] | {"billable": billable}, SRC)[0])
    assert d["billable"] == stored


def test_inbound_keeps_kind_but_never_sender_text_or_payload(ex):
    rec = ex["InboundMessage"] | {"payload": "CONFIRM_APPT"}
    d = as_dict(r.inbound_message(rec, SRC)[0])
    assert (d["event_type"], d["reason"], d["status"]) == (t.INBOUND_MESSAGE, "TEXT", "received")
    assert "CONFIRM_APPT" not in repr(d)


def test_consent_change_is_an_event_and_an_audit_entry(ex):
    event, audit = r.consent_change(ex["ConsentChange"], SRC)
    e, a = as_dict(event), as_dict(audit)
    assert (e["event_type"], e["status"], e["reason"]) == (t.CONSENT_CHANGE, "opted_out", "stop")
    assert (a["action"], a["outcome"], a["resource"], a["audit_id"]) == (
        t.CONSENT_CHANGE, "opted_out", e["recipient_id"], "consent-1")
    assert a["details"] == {"channel": "UNKNOWN", "source": "keyword"}


def test_delivery_outcome_carries_what_the_rollups_group_by(ex):
    d = as_dict(r.delivery_outcome(ex["DeliveryOutcome"], SRC)[0])
    assert (d["status"], d["channel"], d["provider"], d["template"], d["hop"], d["is_final"]) == (
        "delivered", "WHATSAPP", "meta", "urgent_notice", 0, 0)
    assert (d["occurred_at"] - d["accepted_at"]).total_seconds() == pytest.approx(0.9)


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def test_message_state_derives_stage_times_by_rank():
    entry = {"channel": "SMS", "provider": "twilio", "attempt_id": None, "error_code": None, "source": "p"}
    rec = {"message_id": "m", "organization_id": "o", "recipient_id": "rid", "status": "read", "channel": "SMS",
           "provider": "twilio", "hop": 1, "is_final": True, "created_at": 1000, "updated_at": 9000,
           "history": [entry | {"status": "accepted", "at": 1000}, entry | {"status": "failed", "at": 2000,
                                                                            "error_code": "63016"},
                       entry | {"status": "read", "at": 5000}, entry | {"status": "delivered", "at": 6000}]}
    d = as_dict(r.message_state(rec, SRC)[0])
    # read at 5 s before the late delivered callback at 6 s: read implies delivered (and sent) by 5 s
    assert (d["sent_at"], d["delivered_at"], d["read_at"]) == (_at(5000), _at(5000), _at(5000))
    # the first hop's failure (before the fallback that was read) is not the message's
    assert (d["failed_at"], d["error_code"], d["accepted_at"], d["updated_at"]) == (
        None, "", _at(1000), _at(9000))
    assert (d["hop"], d["is_final"], d["status"]) == (1, 1, "read")


def _state(status: str, *entries: tuple[str, int, str | None, bool], **top: object) -> dict:
    base = {"channel": "SMS", "provider": "twilio", "attempt_id": "m:0", "source": "provider"}
    history = [base | {"status": s, "at": at, "error_code": code, "late": late} for s, at, code, late in entries]
    return {"message_id": "m", "organization_id": "o", "recipient_id": "rid", "status": status, "channel": "SMS",
            "provider": "twilio", "hop": 0, "is_final": True, "created_at": 1000, "updated_at": 9000,
            "history": history} | top


DELIVERED = (("accepted", 1000, None, False), ("queued", 1100, None, False), ("sent", 1200, None, False),
             ("delivered", 2000, None, False))
STATE_ROWS = [
    # (case, MessageState, (status, error_code, failed_at, delivered_at, sent_at))
    ("replayed_queued_and_undelivered_after_delivered",
     _state("delivered", *DELIVERED, ("queued", 3000, None, True), ("undelivered", 3100, "30003", True)),
     ("delivered", "", None, _at(2000), _at(1200))),
    ("written_before_late_flags_delivered_then_undelivered",
     _state("delivered", *DELIVERED, ("undelivered", 3100, "30003", False)),
     ("delivered", "", None, _at(2000), _at(1200))),
    ("late_sent_with_an_earlier_time_feeds_no_column",
     _state("delivered", *DELIVERED[:2], DELIVERED[3], ("sent", 900, None, True)),
     ("delivered", "", None, _at(2000), _at(2000))),
    ("failed_after_a_fallback_ends_at_the_last_failure",
     _state("failed", ("accepted", 1000, None, False), ("failed", 1500, "63016", False),
            ("failed", 2500, "30008", False), ("failed", 2600, "30003", True)),
     ("failed", "30008", _at(2500), None, None)),
    ("multi_device_failed_then_delivered",
     _state("delivered", ("accepted", 1000, None, False), ("failed", 1500, "131026", False),
            ("delivered", 1800, None, False)),
     ("delivered", "", None, _at(1800), _at(1800))),
    ("blocked_has_its_code_but_no_failed_at",
     _state("blocked", ("accepted", 1000, None, False), ("blocked", 1100, "no_consent", False)),
     ("blocked", "no_consent", None, None, None)),
    ("the_top_level_error_code_wins",
     _state("expired", ("accepted", 1000, None, False), ("expired", 1400, None, False), error_code="deadline"),
     ("expired", "deadline", _at(1400), None, None)),
]


@pytest.mark.parametrize(("case", "rec", "expected"), STATE_ROWS, ids=[row[0] for row in STATE_ROWS])
def test_message_state_follows_the_streams_rule_for_late_and_failed(case, rec, expected):
    d = as_dict(r.message_state(rec, SRC)[0])
    assert (d["status"], d["error_code"], d["failed_at"], d["delivered_at"], d["sent_at"]) == expected


def test_audit_relays_conversation_events_but_not_appointment_answers(ex):
    base = ex["AuditRecord"]
    plain = r.audit_record(base, SRC)
    assert [x.table for x in plain] == [t.AUDIT_LOG]
    # an answer is counted from its CareEvent; its audit record stays in audit_log only
    confirmed = r.audit_record(base | {"action": "appointment.confirm", "resource": MID, "audit_id": "a2"}, SRC)
    assert [x.table for x in confirmed] == [t.AUDIT_LOG]
    paused = r.audit_record(base | {"action": t.CONVERSATION_PAUSED, "resource": "rid-1", "audit_id": "a3"}, SRC)
    e = as_dict(paused[1])
    assert (e["event_type"], e["recipient_id"], e["message_id"]) == (t.CONVERSATION_PAUSED, "rid-1", "")


def test_care_events_are_event_rows_of_their_own_type_without_the_text(ex):
    staff = as_dict(r.to_rows("CareEvent", ex["CareEvent"], SRC)[0])
    assert (staff["event_type"], staff["event_id"], staff["reason"], staff["appointment_id"], staff["message_id"]) == (
        t.STAFF_ATTENTION, "care-1", "unclear_reply", "appt-991", MID)
    assert (staff["organization_id"], staff["recipient_id"], staff["channel"]) == (
        ORG, ex["CareEvent"]["recipient_id"], "SMS")
    answer = ex["CareEvent"] | {"type": t.APPOINTMENT_CONFIRMED, "event_id": "in-1:appointment.confirmed",
                                "reason": None, "text": None, "appointment_id": None}
    [row] = r.care_event(answer, SRC)
    d = as_dict(row)
    assert (d["event_type"], d["event_id"], d["reason"], d["appointment_id"]) == (
        t.APPOINTMENT_CONFIRMED, "in-1:appointment.confirmed", "", "")


def test_circuit_event_goes_to_channel_health(ex):
    [row] = r.circuit_event(ex["CircuitEvent"], SRC)
    d = as_dict(row)
    assert row.table == t.CHANNEL_HEALTH and (d["state"], d["previous_state"], d["failures"]) == ("open", "closed", 5)


def test_a_sinks_own_dead_letter_collapses_with_the_dead_letter_record(ex):
    failed_at = datetime(2026, 1, 1, tzinfo=UTC)
    direct = as_dict(r.undecodable(r.Source("carelay.send.requests", 0, 12), "undecodable", failed_at))
    relayed = as_dict(r.dead_letter(ex["DeadLetter"], r.Source("carelay.deadletter", 0, 3))[0])
    assert direct["event_id"] == relayed["event_id"] == "carelay.send.requests:0:12"
    assert direct["event_type"] == relayed["event_type"] == t.DEAD_LETTER
    assert "garbage" not in repr(relayed)


def test_replaying_a_record_gives_the_identical_row(ex):
    for value_type in r.MAPPERS:
        assert r.to_rows(value_type, ex[value_type], SRC) == r.to_rows(value_type, ex[value_type], SRC)


def test_timestamps_accept_epoch_millis_and_naive_datetimes():
    assert r.ts(0) == datetime(1970, 1, 1, tzinfo=UTC)
    assert r.ts(datetime(2026, 1, 1)).tzinfo is UTC


def test_a_mapper_naming_an_unknown_column_fails_loudly():
    with pytest.raises(KeyError):
        r._build(t.EVENTS, {"event_id": "x", "body": "no such column"})


def test_missing_required_fields_raise_so_the_sink_dead_letters_them(ex):
    broken = dict(ex["DeliveryOutcome"])
    del broken["message_id"]
    with pytest.raises(KeyError):
        r.delivery_outcome(broken, SRC)
