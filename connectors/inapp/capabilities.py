"""What the streams may count on from the in-app channel (connectors.base.Capabilities)."""
from __future__ import annotations

from connectors.base import Capabilities

PROVIDER = "inapp"
CAPABILITIES = Capabilities(
    can_lookup=False,
    resend_harmless=True,  # a resent notification rewrites the same id (the attempt id): no grace needed
    address_family=None,  # the app has no address of ours: inbound never arrives through it
)
