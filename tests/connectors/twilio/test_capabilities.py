"""What Twilio promises the streams: lookups, its opt-out code, the SMS keywords it answers itself."""
from __future__ import annotations

from connectors.twilio.capabilities import CAPABILITIES, SMS_KEYWORDS
from connectors.twilio.errors import ERROR_MAP, OPT_OUT


def test_twilio_capabilities() -> None:
    assert CAPABILITIES.can_lookup and not CAPABILITIES.resend_harmless
    assert CAPABILITIES.is_opt_out(OPT_OUT) and OPT_OUT in ERROR_MAP
    assert CAPABILITIES.keywords_answered("SMS") == SMS_KEYWORDS and {"STOP", "START", "CANCEL"} <= SMS_KEYWORDS
    assert CAPABILITIES.keywords_answered("WHATSAPP") == frozenset()
    assert CAPABILITIES.numeric_addresses
