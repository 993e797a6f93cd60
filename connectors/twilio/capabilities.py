"""What the streams may count on from Twilio (connectors.base.Capabilities)."""
from __future__ import annotations

from connectors.base import Capabilities
from connectors.twilio.errors import OPT_OUT

PROVIDER = "twilio"
# Twilio's Advanced Opt-Out answers these itself on SMS (and blocks the number after an opt-out word),
# so a confirmation of ours would be a second one, and after STOP a refused send (error OPT_OUT). It also
# treats a bare CANCEL as an opt-out whatever we decide: prefer buttons or "2" for a cancel answer.
SMS_KEYWORDS: frozenset[str] = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT",
                                          "START", "YES", "UNSTOP"})

CAPABILITIES = Capabilities(
    can_lookup=True,  # messages and calls can be listed by sender, recipient and time (find_sent)
    resend_harmless=False,
    opt_out_codes=frozenset({OPT_OUT}),
    carrier_keywords={"SMS": SMS_KEYWORDS},
    address_family=PROVIDER,
    numeric_addresses=True,  # our senders are numbers, in any spelling (`whatsapp:` prefix included)
)
