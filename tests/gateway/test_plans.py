"""The appointment-plan view behind GET /v1/appointments/{id}, fed records by hand (no Kafka)."""
from __future__ import annotations

import pytest

from gateway.plans import AppointmentPlanView
from schemas.codec import AvroCodec
from schemas.phi import PhiCipher, Pseudonymizer
from schemas.registry import InProcessRegistry
from tests.schemas.examples import examples

PLAN = examples(PhiCipher([("t1", b"\x05" * 32)]), Pseudonymizer(b"\x06" * 32))["AppointmentPlan"]
CODEC = AvroCodec("AppointmentPlan", "t-plans-value", InProcessRegistry())
KEY = b"clinic-42|appt-991"
BOOKED = CODEC.encode(PLAN)
CANCELLED = CODEC.encode({**PLAN, "kind": "CANCELLED"})


def view() -> AppointmentPlanView:
    return AppointmentPlanView("127.0.0.1:1", "unused", CODEC)  # never started


@pytest.mark.parametrize(("records", "org", "appointment", "kind"), [
    pytest.param([(KEY, BOOKED)], "clinic-42", "appt-991", "BOOKED", id="one-plan"),
    pytest.param([(KEY, BOOKED), (KEY, CANCELLED)], "clinic-42", "appt-991", "CANCELLED", id="last-record-wins"),
    pytest.param([(KEY, BOOKED), (KEY, None)], "clinic-42", "appt-991", None, id="tombstone-forgets"),
    pytest.param([(KEY, BOOKED), (KEY, b"\x09junk")], "clinic-42", "appt-991", "BOOKED",
                 id="bad-frame-keeps-the-previous"),
    pytest.param([(None, BOOKED)], "clinic-42", "appt-991", None, id="keyless-record-ignored"),
    pytest.param([(KEY, BOOKED)], "other-org", "appt-991", None, id="another-organization-sees-nothing"),
    pytest.param([(KEY, BOOKED)], "clinic-42", "appt-1", None, id="unknown-appointment"),
])
def test_get(records: list[tuple[bytes | None, bytes | None]], org: str, appointment: str, kind: str | None) -> None:
    v = view()
    for key, value in records:
        v.take(key, value)
    plan = v.get(org, appointment)
    assert (plan["kind"] if plan else None) == kind
