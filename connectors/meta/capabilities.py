"""What the streams may count on from the WhatsApp Cloud API (connectors.base.Capabilities)."""
from __future__ import annotations

from connectors.base import Capabilities

PROVIDER = "meta"
DIALOG360 = "d360"  # 360dialog serves the same Cloud API: same bodies, webhooks and capabilities
NAMES: tuple[str, ...] = (PROVIDER, DIALOG360)

CAPABILITIES = Capabilities(
    can_lookup=False,  # no message lookup: an in-doubt attempt waits for its status webhook
    resend_harmless=False,
    # webhooks of both carry the same phone_number_id metadata: one directory index for both
    address_family=PROVIDER,
    numeric_addresses=False,  # a phone_number_id is an opaque id
)
