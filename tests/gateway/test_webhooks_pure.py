"""Who is the patient in a provider callback, and the envelope ids of the gateway's webhook shell (pure)."""
from __future__ import annotations

import pytest

from gateway.webhooks import envelope_id
from schemas.numbers import patient_number


@pytest.mark.parametrize(("address", "expected"), [
    ("whatsapp:+525512345678", "+525512345678"),
    ("whatsapp:+5215512345678", "+525512345678"),  # Twilio's From for a Mexican WhatsApp mobile
    ("5215512345678", "+525512345678"),            # Meta's wa_id: no plus, the old 521 form
    ("+16505551234", "+16505551234"),
    ("+16505551234\n", "+16505551234"),            # the same patient: never a second pseudonym
    ("+12345678", None),                           # no such number
    ("client:alice", None),
    ("", None),
    (None, None),
], ids=["twilio-whatsapp", "twilio-whatsapp-mx-521", "meta-wa-id-mx-521", "sms-e164", "trailing-newline",
        "too-short", "voice-client", "empty", "missing"])
def test_patient_number_is_canonical_or_none(address, expected):
    assert patient_number(address) == expected


def test_envelope_ids_are_stable_for_retries():
    assert envelope_id("twilio", "status", b"body") == envelope_id("twilio", "status", b"body")
    assert envelope_id("twilio", "status", b"body") != envelope_id("twilio", "status", b"body2")
