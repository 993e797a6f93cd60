import pytest

from schemas.errors import ConfigError
from schemas.settings import Settings


def test_care_defaults():
    care = Settings.from_env({}).care
    assert care.quiet_hours == (21 * 60, 8 * 60)
    assert care.reminder_offsets_s == (86400, 7200)
    assert care.ai_reply_timeout_s == 3.0
    assert care.for_org("anyone") == ("America/Mexico_City", (1260, 480))


def test_care_overrides_per_organization():
    care = Settings.from_env({
        "CARELAY_CARE_ORGS": "clinic-42=America/Bogota@22:00-07:30; other=Europe/Lisbon@20:00-09:00",
        "CARELAY_CARE_REMINDER_OFFSETS_S": "7200,172800,7200", "CARELAY_CARE_TIMEZONE": "America/Sao_Paulo",
    }).care
    assert care.for_org("clinic-42") == ("America/Bogota", (22 * 60, 7 * 60 + 30))
    assert care.for_org("other") == ("Europe/Lisbon", (20 * 60, 9 * 60))
    assert care.for_org("third") == ("America/Sao_Paulo", (21 * 60, 8 * 60))
    assert care.reminder_offsets_s == (172800, 7200)  # deduplicated, furthest first


@pytest.mark.parametrize(("var", "value"), [
    ("CARELAY_CARE_TIMEZONE", "Mars/Olympus"), ("CARELAY_CARE_TIMEZONE", "America"),
    ("CARELAY_CARE_QUIET_HOURS", "9pm-8am"),
    ("CARELAY_CARE_QUIET_HOURS", "24:00-08:00"), ("CARELAY_CARE_ORGS", "clinic=America/Bogota"),
    ("CARELAY_CARE_ORGS", "clinic=Nowhere/City@21:00-08:00"), ("CARELAY_CARE_REMINDER_OFFSETS_S", "1d"),
    ("CARELAY_CARE_REMINDER_OFFSETS_S", "-5"), ("CARELAY_CARE_AI_REPLY_TIMEOUT_S", "0"),
])
def test_malformed_care_setting_names_the_variable(var, value):
    with pytest.raises(ConfigError, match=var):
        Settings.from_env({var: value})
