"""Production refuses development and empty secrets, CARELAY_ENV is an allow-list, secrets never print."""
from __future__ import annotations

import base64
import dataclasses

import pytest

from access.keys import KeyStore
from schemas.errors import ConfigError
from schemas.secrets import KeyRing, SecretUrl, production_refusals
from schemas.settings import DEV_PHI_KEYS, DEV_PSEUDONYM_KEY, ClickHouseSettings, Settings

PHI = base64.b64encode(b"p" * 32).decode()
PSEUDONYM = base64.b64encode(b"q" * 32).decode()
DEV_PHI = DEV_PHI_KEYS.partition(":")[2]
PROVIDERS = {
    "CARELAY_TWILIO_AUTH_TOKEN": "prod-twilio-token",
    "CARELAY_META_ACCESS_TOKEN": "prod-meta-access",
    "CARELAY_META_APP_SECRET": "prod-meta-secret",
    "CARELAY_META_VERIFY_TOKEN": "prod-meta-verify",
    "CARELAY_CONSOLE_SESSION_KEY": "prod-console-session-key",
    "CARELAY_PATIENT_LINK_KEY": base64.b64encode(b"l" * 32).decode(),
}


def other_spelling(b64: str) -> str:
    """The same bytes spelt differently: the last character's unused low bits set."""
    assert b64.endswith("A=")
    other = b64[:-2] + "B="
    assert base64.b64decode(other, validate=True) == base64.b64decode(b64, validate=True)
    return other


def production(**changes: str | None) -> dict[str, str]:
    env = {"CARELAY_ENV": "production", "CARELAY_PHI_KEYS": f"p1:{PHI}", "CARELAY_PSEUDONYM_KEY": PSEUDONYM,
           **PROVIDERS}
    for var, value in changes.items():
        if value is None:
            env.pop(var)
        else:
            env[var] = value
    return env


def test_production_starts_with_its_own_secrets():
    s = Settings.from_env(production())
    assert s.production and str(s.twilio.auth_token) == "prod-twilio-token"


@pytest.mark.parametrize(("changes", "var"), [
    pytest.param({"CARELAY_TWILIO_AUTH_TOKEN": None}, "CARELAY_TWILIO_AUTH_TOKEN", id="twilio-token-default"),
    pytest.param({"CARELAY_META_ACCESS_TOKEN": None}, "CARELAY_META_ACCESS_TOKEN", id="meta-access-token-default"),
    pytest.param({"CARELAY_META_APP_SECRET": None}, "CARELAY_META_APP_SECRET", id="meta-app-secret-default"),
    pytest.param({"CARELAY_META_VERIFY_TOKEN": None}, "CARELAY_META_VERIFY_TOKEN", id="meta-verify-token-default"),
    pytest.param({"CARELAY_TWILIO_AUTH_TOKEN": "dev-twilio-auth-token"}, "CARELAY_TWILIO_AUTH_TOKEN",
                 id="twilio-token-development-value"),
    pytest.param({"CARELAY_META_APP_SECRET": "dev-meta-app-secret"}, "CARELAY_META_APP_SECRET",
                 id="meta-app-secret-development-value"),
    pytest.param({"CARELAY_TWILIO_AUTH_TOKEN": ""}, "CARELAY_TWILIO_AUTH_TOKEN", id="twilio-token-empty"),
    pytest.param({"CARELAY_TWILIO_AUTH_TOKEN": "   "}, "CARELAY_TWILIO_AUTH_TOKEN", id="twilio-token-blank"),
    pytest.param({"CARELAY_META_ACCESS_TOKEN": ""}, "CARELAY_META_ACCESS_TOKEN", id="meta-access-token-empty"),
    pytest.param({"CARELAY_META_APP_SECRET": ""}, "CARELAY_META_APP_SECRET", id="meta-app-secret-empty"),
    pytest.param({"CARELAY_META_VERIFY_TOKEN": ""}, "CARELAY_META_VERIFY_TOKEN", id="meta-verify-token-empty"),
    pytest.param({"CARELAY_PHI_KEYS": None}, "CARELAY_PHI_KEYS", id="phi-keys-default"),
    pytest.param({"CARELAY_PHI_KEYS": f"old:{DEV_PHI},p1:{PHI}"}, "CARELAY_PHI_KEYS", id="phi-dev-key-in-ring"),
    pytest.param({"CARELAY_PHI_KEYS": f"p1:{other_spelling(DEV_PHI)}"}, "CARELAY_PHI_KEYS",
                 id="phi-dev-key-other-spelling"),
    pytest.param({"CARELAY_PSEUDONYM_KEY": None}, "CARELAY_PSEUDONYM_KEY", id="pseudonym-key-default"),
    pytest.param({"CARELAY_PSEUDONYM_KEY": other_spelling(DEV_PSEUDONYM_KEY)}, "CARELAY_PSEUDONYM_KEY",
                 id="pseudonym-dev-key-other-spelling"),
    pytest.param({"CARELAY_DEMO_API_KEYS": "true"}, "CARELAY_DEMO_API_KEYS", id="demo-api-keys"),
    pytest.param({"CARELAY_CONSOLE_SESSION_KEY": None}, "CARELAY_CONSOLE_SESSION_KEY",
                 id="console-session-key-default"),
])
def test_production_refuses(changes, var):
    with pytest.raises(ConfigError, match=var):
        Settings.from_env(production(**changes))


@pytest.mark.parametrize("var", sorted(PROVIDERS))
def test_an_empty_provider_secret_is_refused_in_development_too(var):
    with pytest.raises(ConfigError, match=var):
        Settings.from_env({var: ""})


@pytest.mark.parametrize("value", [
    pytest.param("Production", id="capitalised"),
    pytest.param("PRODUCTION", id="upper-case"),
    pytest.param("prod", id="abbreviated"),
    pytest.param(" production", id="leading-blank"),
    pytest.param("production\n", id="trailing-newline"),
    pytest.param("staging", id="unknown"),
    pytest.param("dev", id="abbreviated-development"),
    pytest.param("", id="empty"),
])
def test_environment_outside_the_allow_list_stops_start_up(value):
    with pytest.raises(ConfigError, match="CARELAY_ENV"):
        Settings.from_env({**production(), "CARELAY_ENV": value})


@pytest.mark.parametrize(("env", "production_"), [
    pytest.param({}, False, id="unset-is-development"),
    pytest.param({"CARELAY_ENV": "development"}, False, id="development"),
    pytest.param(production(), True, id="production"),
])
def test_allowed_environments(env, production_):
    assert Settings.from_env(env).production is production_


@pytest.mark.parametrize(("given", "refused"), [
    pytest.param({"V": [b"own"]}, [], id="own-value"),
    pytest.param({"V": [b"dev"]}, ["V"], id="development-value"),
    pytest.param({"V": [b"own", b"dev"]}, ["V"], id="development-value-among-others"),
    pytest.param({"V": [b""]}, ["V"], id="empty"),
    pytest.param({"V": [b" \t"]}, ["V"], id="blank"),
    pytest.param({"V": [b"dev "]}, [], id="different-bytes"),
])
def test_production_refusals(given, refused):
    assert production_refusals(given, {"V": b"dev"}) == refused


@pytest.mark.parametrize(("file", "env", "opt_in", "demo"), [
    pytest.param("", "development", True, True, id="development-opted-in"),
    pytest.param("", "development", False, None, id="development-without-opt-in"),
    pytest.param("", "production", True, None, id="production-opted-in"),
    pytest.param("", "production", False, None, id="production"),
])
def test_demo_keys_only_with_the_opt_in(file, env, opt_in, demo):
    if demo is None:
        with pytest.raises(ConfigError, match="CARELAY_API_KEYS_FILE"):
            KeyStore.from_settings(file, env, demo_keys=opt_in)
    else:
        assert KeyStore.from_settings(file, env, demo_keys=opt_in).lookup("demo-clinic-sender-key") is not None


def test_demo_opt_in_is_parsed_and_off_by_default():
    assert Settings.from_env({}).gateway.demo_api_keys is False
    assert Settings.from_env({"CARELAY_DEMO_API_KEYS": "true"}).gateway.demo_api_keys is True
    with pytest.raises(ConfigError, match="CARELAY_DEMO_API_KEYS"):
        Settings.from_env({"CARELAY_DEMO_API_KEYS": "sure"})


def test_repr_shows_no_secret():
    url = "http://carelay:ch-pass-9876@clickhouse:8123/carelay"
    s = Settings.from_env({**production(), "CARELAY_CLICKHOUSE_URL": url, "CARELAY_ANALYTICS_API_KEY": "an-key-55"})
    text = repr(s) + str(s)
    secrets = [*PROVIDERS.values(), PHI, PSEUDONYM, "ch-pass-9876", "an-key-55", repr(b"p" * 32), "pppppppp"]
    assert [x for x in secrets if x in text] == []
    assert "clickhouse:8123" in text and "p1" in text  # where and which key, not what
    assert str(s.clickhouse.url) == url and s.phi_keys[0] == ("p1", b"p" * 32)  # the values still work


def test_secret_wrappers_hold_when_built_directly():
    ring = Settings(phi_keys=(("k1", b"k" * 32),)).phi_keys
    assert isinstance(ring, KeyRing) and "kkkk" not in repr(ring) and "kkkk" not in f"{ring}"
    ch = dataclasses.replace(ClickHouseSettings(), url="http://u:pw-4321@h:1/db")
    assert isinstance(ch.url, SecretUrl) and "pw-4321" not in repr(ch)
    assert repr(SecretUrl("http://h:1/db")) == "SecretUrl('http://h:1/db')"
