"""What `CARELAY_ENV=production` refuses, one row per secret: a development or blank value names its variable."""
from __future__ import annotations

import base64

import pytest

from schemas.errors import ConfigError
from schemas.settings import Settings
from schemas.settings.keys import DEV_CONSOLE_SESSION_KEY, DEV_PATIENT_LINK_KEY, DEV_PHI_KEYS, DEV_PSEUDONYM_KEY
from schemas.settings.services import MetaSettings, TwilioSettings

GOOD_KEY = base64.b64encode(b"p" * 32).decode()
DEV_KEY = DEV_PHI_KEYS.split(":", 1)[1]
TWILIO, META = TwilioSettings(), MetaSettings()  # their defaults are the development values
PRODUCTION = {
    "CARELAY_ENV": "production", "CARELAY_PHI_KEYS": f"p1:{GOOD_KEY}", "CARELAY_PSEUDONYM_KEY": GOOD_KEY,
    "CARELAY_TWILIO_AUTH_TOKEN": "t", "CARELAY_META_ACCESS_TOKEN": "a", "CARELAY_META_APP_SECRET": "s",
    "CARELAY_META_VERIFY_TOKEN": "v", "CARELAY_CONSOLE_SESSION_KEY": "c",
    "CARELAY_PATIENT_LINK_KEY": base64.b64encode(b"l" * 32).decode(),
}


def test_production_with_its_own_secrets_starts() -> None:
    s = Settings.from_env(PRODUCTION)
    assert s.env == "production" and s.production


@pytest.mark.parametrize(("changes", "refused"), [
    pytest.param({"CARELAY_PHI_KEYS": DEV_PHI_KEYS}, "CARELAY_PHI_KEYS", id="development-phi-key"),
    pytest.param({"CARELAY_PHI_KEYS": f"old:{DEV_KEY},p1:{GOOD_KEY}"}, "CARELAY_PHI_KEYS",
                 id="development-phi-key-kept-as-an-older-key"),
    pytest.param({"CARELAY_PHI_KEYS": f"renamed:{DEV_KEY}"}, "CARELAY_PHI_KEYS",
                 id="development-phi-key-under-another-id"),
    pytest.param({"CARELAY_PSEUDONYM_KEY": DEV_PSEUDONYM_KEY}, "CARELAY_PSEUDONYM_KEY",
                 id="development-pseudonym-key"),
    pytest.param({"CARELAY_TWILIO_AUTH_TOKEN": str(TWILIO.auth_token)}, "CARELAY_TWILIO_AUTH_TOKEN",
                 id="development-twilio-token"),
    pytest.param({"CARELAY_META_ACCESS_TOKEN": str(META.access_token)}, "CARELAY_META_ACCESS_TOKEN",
                 id="development-meta-token"),
    pytest.param({"CARELAY_META_APP_SECRET": str(META.app_secret)}, "CARELAY_META_APP_SECRET",
                 id="development-meta-app-secret"),
    pytest.param({"CARELAY_META_VERIFY_TOKEN": str(META.verify_token)}, "CARELAY_META_VERIFY_TOKEN",
                 id="development-verify-token"),
    pytest.param({"CARELAY_CONSOLE_SESSION_KEY": DEV_CONSOLE_SESSION_KEY}, "CARELAY_CONSOLE_SESSION_KEY",
                 id="development-console-session-key"),
    pytest.param({"CARELAY_PATIENT_LINK_KEY": DEV_PATIENT_LINK_KEY}, "CARELAY_PATIENT_LINK_KEY",
                 id="development-patient-link-key"),
    pytest.param({"CARELAY_DEMO_API_KEYS": "true"}, "CARELAY_DEMO_API_KEYS", id="demo-api-keys"),
])
def test_production_refuses(changes: dict[str, str], refused: str) -> None:
    with pytest.raises(ConfigError, match=f"^{refused}: production refuses") as info:
        Settings.from_env({**PRODUCTION, **changes})
    assert DEV_KEY not in str(info.value) and GOOD_KEY not in str(info.value)


@pytest.mark.parametrize("var", ["CARELAY_TWILIO_AUTH_TOKEN", "CARELAY_META_ACCESS_TOKEN", "CARELAY_META_APP_SECRET",
                                 "CARELAY_META_VERIFY_TOKEN"])
def test_a_blank_signing_secret_is_refused_in_any_environment(var: str) -> None:
    for env in ({}, PRODUCTION):
        with pytest.raises(ConfigError, match=f"^{var}: must not be empty"):
            Settings.from_env({**env, var: ""})


def test_every_refused_secret_is_named_at_once() -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env({"CARELAY_ENV": "production"})
    assert str(info.value).startswith("CARELAY_PHI_KEYS, CARELAY_PSEUDONYM_KEY, ")
    assert "CARELAY_PATIENT_LINK_KEY: production refuses an empty or development value" in str(info.value)


def test_development_takes_the_development_secrets() -> None:
    assert not Settings.from_env({}).production
