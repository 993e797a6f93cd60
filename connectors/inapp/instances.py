"""The in-app channel's demo instance (one per organization; `sender` is unused)."""
from __future__ import annotations

from connectors.base import ChannelInstance
from connectors.inapp.capabilities import PROVIDER
from schemas.settings import Settings


def demo_instances(settings: Settings, organization_id: str) -> list[ChannelInstance]:
    return [ChannelInstance(f"{organization_id}-inapp", organization_id, "INAPP", PROVIDER, PROVIDER, per_second=500.0)]
