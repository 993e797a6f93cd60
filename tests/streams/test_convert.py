"""Conversions between Avro records and the decisions' plain data."""
from __future__ import annotations

from streams import convert
from streams.decide.lifecycle import Outcome
from tests.streams.decide.helpers import sent_message


def test_status_source_follows_the_provider_and_event_id() -> None:
    base = {"event_id": "meta:w:sent", "provider": "meta", "channel": "WHATSAPP", "provider_message_id": "w",
            "status": "sent", "occurred_at": 5, "received_at": 6}
    assert convert.status_facts(base).source == "provider"
    assert convert.status_facts({**base, "event_id": "meta:w:sent:poll"}).source == "poll"
    assert convert.status_facts({**base, "provider": convert.OWN_PROVIDER}).source == "deadline"
    assert convert.status_facts({**base, "occurred_at": None}).at_ms == 6


def test_outcome_record_carries_ids_and_codes_only() -> None:
    msg = sent_message()
    o = Outcome("m1", "failed", "sent", 0, "m1:0", "WHATSAPP", "meta", "131026", "fallback", False, 9)
    rec = convert.outcome_record(o, msg)
    assert rec["event_id"] == "m1:0:failed" and rec["recipient_id"] == "rid1" and rec["accepted_at"] == 1_000_000
    assert set(rec) >= {"organization_id", "priority", "template", "is_final", "occurred_at"}
