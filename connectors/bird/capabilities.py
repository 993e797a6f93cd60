"""What the streams may count on from Bird's Channels API (connectors.base.Capabilities)."""
from __future__ import annotations

from connectors.base import Capabilities

PROVIDER = "bird"

CAPABILITIES = Capabilities(
    can_lookup=False,  # not used: an in-doubt attempt waits for its status webhook (our reference in it)
    resend_harmless=False,
    address_family=PROVIDER,
    numeric_addresses=False,  # a sender is a Bird channel id
)
