"""Twilio's demo senders (one account: WhatsApp, SMS and voice numbers from TwilioSettings).

A WhatsApp sender's `config.content_sids` maps "template:language" to the approved Content SID
("HX" + 32 hex) Twilio sends a template by; real accounts list theirs in the channels file.
"""
from __future__ import annotations

import hashlib

from connectors.base import ChannelInstance
from connectors.twilio.capabilities import PROVIDER
from schemas.settings import Settings
from schemas.templates import TemplateCatalog, default_catalog


def demo_content_sids(catalog: TemplateCatalog) -> dict[str, str]:
    """Stand-in Content SIDs for every catalog template and language."""
    sids = {}
    for name in catalog.names():
        for lang in catalog.get(name).languages:
            key = f"{name}:{lang}"
            sids[key] = "HX" + hashlib.sha256(key.encode()).hexdigest()[:32]
    return sids


def demo_instances(settings: Settings, organization_id: str) -> list[ChannelInstance]:
    t = settings.twilio
    return [
        ChannelInstance(f"{organization_id}-wa-twilio", organization_id, "WHATSAPP", PROVIDER, t.whatsapp_from,
                        per_second=t.whatsapp_per_second,
                        config={"content_sids": demo_content_sids(default_catalog())}),
        ChannelInstance(f"{organization_id}-sms-twilio", organization_id, "SMS", PROVIDER, t.sms_from,
                        per_second=t.sms_per_second),
        ChannelInstance(f"{organization_id}-voice-twilio", organization_id, "VOICE", PROVIDER, t.voice_from,
                        per_second=1.0),
    ]
