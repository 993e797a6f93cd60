"""Conversions between Avro records and the decisions' plain data."""
from __future__ import annotations

import pytest

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


OPT_OUT_ROWS = [
    # (case, provider, error code, opted out at the provider)
    ("twilio-21610", "twilio", "21610", True),
    ("twilio-other-code", "twilio", "30005", False),
    ("twilio-no-code", "twilio", None, False),
    ("meta-same-digits", "meta", "21610", False),
    ("own-clock", convert.OWN_PROVIDER, "21610", False),
]


@pytest.mark.parametrize(("provider", "code", "opt_out"), [r[1:] for r in OPT_OUT_ROWS],
                         ids=[r[0] for r in OPT_OUT_ROWS])
def test_a_provider_opt_out_is_read_from_the_providers_capabilities(provider: str, code: str | None,
                                                                     opt_out: bool) -> None:
    rec = {"event_id": f"{provider}:x:failed", "provider": provider, "channel": "SMS", "provider_message_id": "x",
           "status": "failed", "occurred_at": 5, "received_at": 6, "error_code": code}
    assert convert.status_facts(rec).opt_out is opt_out


def test_outcome_record_carries_ids_and_codes_only() -> None:
    msg = sent_message()
    o = Outcome("m1", "failed", "sent", 0, "m1:0", "WHATSAPP", "meta", "131026", "fallback", False, 9)
    rec = convert.outcome_record(o, msg)
    assert rec["event_id"] == "m1:0:failed" and rec["recipient_id"] == "rid1" and rec["accepted_at"] == 1_000_000
    assert set(rec) >= {"organization_id", "priority", "template", "is_final", "occurred_at"}
