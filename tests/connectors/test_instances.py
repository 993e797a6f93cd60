"""Channel instances: the demo set, the JSON file and the directory lookups."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from connectors.base import ChannelInstance
from connectors.instances import ChannelDirectory, instance_from_dict, load_directory, load_file
from schemas.errors import ConfigError
from schemas.settings import Settings


def test_demo_set_covers_every_channel_in_preference_order() -> None:
    d = load_directory(Settings())
    assert [i.provider for i in d.for_channel("demo-clinic", "WHATSAPP")] == ["meta", "twilio"]
    assert [i.provider for i in d.for_channel("demo-clinic", "SMS")] == ["twilio"]
    assert [i.provider for i in d.for_channel("demo-clinic", "VOICE")] == ["twilio"]
    assert [i.provider for i in d.for_channel("demo-clinic", "INAPP")] == ["inapp"]
    assert d.for_channel("other-org", "SMS") == ()
    wa_twilio = d.get("demo-clinic-wa-twilio")
    assert wa_twilio.config["content_sids"]["appointment_reminder:es"].startswith("HX")


def test_inbound_addresses_resolve_to_the_organization() -> None:
    s = Settings()
    d = load_directory(s)
    assert d.organization_for("twilio", f"whatsapp:{s.twilio.whatsapp_from}") == "demo-clinic"
    assert d.organization_for("twilio", s.twilio.sms_from) == "demo-clinic"
    assert d.organization_for("meta", s.meta.phone_number_id) == "demo-clinic"
    assert d.organization_for("d360", s.meta.phone_number_id) == "demo-clinic"
    assert d.organization_for("twilio", "+15551234567") is None
    inst = d.instance_for_address("twilio", f"whatsapp:{s.twilio.whatsapp_from}", channel="WHATSAPP")
    assert inst is not None and inst.channel == "WHATSAPP"


def test_own_senders_are_never_patients() -> None:
    s = Settings()
    d = load_directory(s)
    for number in (s.twilio.sms_from, s.twilio.whatsapp_from, s.twilio.voice_from):
        assert d.is_own_sender(number)
        assert d.is_own_sender(f"whatsapp:{number}")
        assert d.is_own_sender(number.lstrip("+"))
    assert not d.is_own_sender("+5215512345678")


def test_file_with_priority_and_display_number(tmp_path: Path) -> None:
    path = tmp_path / "channels.json"
    path.write_text(json.dumps({"instances": [
        {"id": "b", "organization_id": "c1", "channel": "WHATSAPP", "provider": "twilio",
         "sender": "+15550000002", "priority": 2},
        {"id": "a", "organization_id": "c1", "channel": "whatsapp", "provider": "d360",
         "sender": "200000000000002", "priority": 1, "config": {"display_phone_number": "15550000009"}},
    ]}))
    d = load_directory(Settings(channels_file=str(path)))
    assert [i.id for i in d.for_channel("c1", "WHATSAPP")] == ["a", "b"]
    assert d.is_own_sender("+15550000009")
    assert d.organization_for("meta", "200000000000002") == "c1"


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        json.dumps({"instances": {"id": "x"}}),
        json.dumps([{"id": "x", "organization_id": "o", "channel": "FAX", "provider": "twilio", "sender": "+1"}]),
        json.dumps([{"id": "x"}]),
    ],
)
def test_bad_files_fail_at_start_up(tmp_path: Path, content: str) -> None:
    path = tmp_path / "channels.json"
    path.write_text(content)
    with pytest.raises(ConfigError):
        load_file(path)


def test_duplicate_ids_rejected() -> None:
    d = load_directory(Settings())
    with pytest.raises(ConfigError, match="twice"):
        ChannelDirectory([*d, *d])


def test_an_unknown_provider_is_refused() -> None:
    with pytest.raises(ConfigError, match="unknown provider 'vonage'"):
        ChannelDirectory([ChannelInstance("x", "org", "SMS", "vonage", "+15005550006")])
    with pytest.raises(ConfigError, match=r"bad channel instance 'x'.*unknown provider 'vonage'"):
        instance_from_dict({"id": "x", "organization_id": "o", "channel": "SMS", "provider": "Vonage", "sender": "1"})
