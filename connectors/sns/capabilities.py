"""What the streams may count on from Amazon SNS SMS (connectors.base.Capabilities)."""
from __future__ import annotations

from connectors.base import Capabilities
from connectors.sns.errors import OPT_OUT

PROVIDER = "sns"

CAPABILITIES = Capabilities(
    can_lookup=False,  # SNS has no message lookup: an in-doubt attempt waits for its delivery report
    resend_harmless=False,
    opt_out_codes=frozenset({OPT_OUT}),
    address_family=PROVIDER,
    numeric_addresses=True,  # our senders are origination numbers
)
