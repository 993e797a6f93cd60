"""The state codec: table records round trip through JSON and read records of other releases."""
from __future__ import annotations

from streams.care.loopguard import LoopState
from streams.decide.consent import Consent
from streams.decide.records import Patient, Question
from streams.statecodec import dumps, loads
from tests.streams.decide.helpers import sent_message


def test_state_records_round_trip_through_json() -> None:
    msg = sent_message()
    assert loads(type(msg), dumps(msg)) == msg
    p = Patient("clinic", Consent().apply("SMS", False, 3, "keyword"), loop=LoopState((1, 2), (3,), 4),
                question=Question("m1", 5))
    assert loads(Patient, dumps(p)) == p


def test_unknown_keys_are_dropped_and_missing_ones_take_defaults() -> None:
    assert loads(Patient, b'{"organization_id": "x", "some_future_field": 1}') == Patient("x")
