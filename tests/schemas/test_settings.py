import base64

import pytest

from schemas.errors import ConfigError
from schemas.settings import DEV_PHI_KEYS, Settings, parse_key_ring


def test_defaults_work_on_a_fresh_clone():
    s = Settings.from_env({})
    assert s.kafka.bootstrap == "127.0.0.1:9092"
    assert s.phi_keys[0][0] == "dev1" and len(s.phi_keys[0][1]) == 32
    assert s.limits.breaker_failures == 5 and s.limits.breaker_recovery_s == 30
    assert (s.gateway.linger_ms, s.kafka.linger_ms) == (2, 5)  # the accept path waits its linger out


def test_environment_overrides_and_types():
    s = Settings.from_env({"CARELAY_KAFKA_BOOTSTRAP": "k:1", "CARELAY_GATEWAY_PORT": "9000",
                           "CARELAY_KAFKA_SEND_TIMEOUT_S": "0.5", "CARELAY_PUBLIC_URL": "https://x.example/"})
    assert (s.kafka.bootstrap, s.gateway.port, s.kafka.send_timeout_s) == ("k:1", 9000, 0.5)
    assert s.gateway.public_url == "https://x.example"


@pytest.mark.parametrize(
    ("var", "value"),
    [("CARELAY_GATEWAY_PORT", "eighty"), ("CARELAY_KAFKA_SEND_TIMEOUT_S", "0"), ("CARELAY_PHI_KEYS", "nokey"),
     ("CARELAY_PHI_KEYS", "k1:not-base64!"), ("CARELAY_PHI_KEYS", "k1:" + base64.b64encode(b"short").decode()),
     ("CARELAY_PSEUDONYM_KEY", "YQ=="), ("CARELAY_LIMIT_RECIPIENT_HOUR", "-1"), ("CARELAY_GATEWAY_LINGER_MS", "-2")],
)
def test_malformed_setting_names_the_variable(var, value):
    with pytest.raises(ConfigError, match=var):
        Settings.from_env({var: value})


def test_secrets_do_not_print():
    s = Settings.from_env({"CARELAY_TWILIO_AUTH_TOKEN": "tok-123456"})
    assert "tok-123456" not in repr(s)
    assert str(s.twilio.auth_token) == "tok-123456"


def test_key_ring_order_and_duplicates():
    k = base64.b64encode(b"a" * 32).decode()
    assert [kid for kid, _ in parse_key_ring("V", f"old:{k}, new:{k}")] == ["old", "new"]
    with pytest.raises(ConfigError, match="twice"):
        parse_key_ring("V", f"a:{k},a:{k}")


def test_production_refuses_development_keys():
    with pytest.raises(ConfigError, match="CARELAY_PHI_KEYS"):
        Settings.from_env({"CARELAY_ENV": "production"})
    good = base64.b64encode(b"p" * 32).decode()
    s = Settings.from_env({"CARELAY_ENV": "production", "CARELAY_PHI_KEYS": f"p1:{good}",
                           "CARELAY_PSEUDONYM_KEY": good, "CARELAY_TWILIO_AUTH_TOKEN": "t",
                           "CARELAY_META_ACCESS_TOKEN": "a", "CARELAY_META_APP_SECRET": "s",
                           "CARELAY_META_VERIFY_TOKEN": "v", "CARELAY_CONSOLE_SESSION_KEY": "c",
                           "CARELAY_PATIENT_LINK_KEY": good})
    assert s.env == "production"
    assert DEV_PHI_KEYS not in repr(s)

