"""What `CARELAY_ENV=production` refuses: development or empty secrets, the demo API keys (docs/security.md)."""
from __future__ import annotations

import base64
from typing import TYPE_CHECKING

from schemas.errors import ConfigError
from schemas.secrets import production_refusals
from schemas.settings.keys import (
    DEV_CONSOLE_SESSION_KEY,
    DEV_PATIENT_LINK_KEY,
    DEV_PHI_KEYS,
    DEV_PSEUDONYM_KEY,
    parse_key_ring,
)
from schemas.settings.services import MetaSettings, TwilioSettings

if TYPE_CHECKING:
    from schemas.settings import Settings


def check_production(settings: Settings) -> None:
    if not settings.production:
        return
    t, m = settings.twilio, settings.meta
    dev_t, dev_m = TwilioSettings(), MetaSettings()
    given: dict[str, tuple[bytes, ...]] = {
        "CARELAY_PHI_KEYS": tuple(key for _, key in settings.phi_keys),
        "CARELAY_PSEUDONYM_KEY": (settings.pseudonym_key_bytes,),
        "CARELAY_TWILIO_AUTH_TOKEN": (str(t.auth_token).encode(),),
        "CARELAY_META_ACCESS_TOKEN": (str(m.access_token).encode(),),
        "CARELAY_META_APP_SECRET": (str(m.app_secret).encode(),),
        "CARELAY_META_VERIFY_TOKEN": (str(m.verify_token).encode(),),
        "CARELAY_CONSOLE_SESSION_KEY": (str(settings.console.session_key).encode(),),
        "CARELAY_PATIENT_LINK_KEY": (base64.b64decode(str(settings.patient_page.link_key)),),
    }
    development = {
        "CARELAY_PHI_KEYS": parse_key_ring("CARELAY_PHI_KEYS", DEV_PHI_KEYS)[0][1],
        "CARELAY_PSEUDONYM_KEY": base64.b64decode(DEV_PSEUDONYM_KEY),
        "CARELAY_TWILIO_AUTH_TOKEN": str(dev_t.auth_token).encode(),
        "CARELAY_META_ACCESS_TOKEN": str(dev_m.access_token).encode(),
        "CARELAY_META_APP_SECRET": str(dev_m.app_secret).encode(),
        "CARELAY_META_VERIFY_TOKEN": str(dev_m.verify_token).encode(),
        "CARELAY_CONSOLE_SESSION_KEY": DEV_CONSOLE_SESSION_KEY.encode(),
        "CARELAY_PATIENT_LINK_KEY": base64.b64decode(DEV_PATIENT_LINK_KEY),
    }
    refused = production_refusals(given, development)
    if refused:
        raise ConfigError(f"{', '.join(refused)}: production refuses an empty or development value")
    if settings.gateway.demo_api_keys:
        raise ConfigError("CARELAY_DEMO_API_KEYS: production refuses the demo API keys")
