"""The Cloud API's demo sender: one WhatsApp phone_number_id from MetaSettings.

A sender's `config.display_phone_number` is the number patients see; the directory counts it as one
of our own numbers (loop guard).
"""
from __future__ import annotations

from connectors.base import ChannelInstance
from connectors.meta.capabilities import PROVIDER
from schemas.settings import Settings


def demo_instances(settings: Settings, organization_id: str) -> list[ChannelInstance]:
    m = settings.meta
    return [ChannelInstance(f"{organization_id}-wa-meta", organization_id, "WHATSAPP", PROVIDER, m.phone_number_id,
                            per_second=m.per_second)]
