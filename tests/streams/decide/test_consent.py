import pytest

from streams.decide.consent import ALL_CHANNELS, Consent, allowed_channels


def test_no_entry_means_allowed() -> None:
    assert Consent().allows("SMS")


def test_channel_opt_out_blocks_only_that_channel() -> None:
    c = Consent().apply("SMS", False, 10, "keyword")
    assert not c.allows("SMS")
    assert c.allows("WHATSAPP")
    assert allowed_channels(c, ("WHATSAPP", "SMS", "VOICE")) == ("WHATSAPP", "VOICE")


def test_all_channels_opt_out_blocks_everything() -> None:
    c = Consent().apply(ALL_CHANNELS, False, 10, "keyword")
    assert allowed_channels(c, ("WHATSAPP", "SMS")) == ()


def test_newest_of_channel_and_all_entries_wins() -> None:
    c = Consent().apply(ALL_CHANNELS, False, 10, "keyword").apply("SMS", True, 20, "keyword")
    assert c.allows("SMS") and not c.allows("WHATSAPP")
    c = c.apply(ALL_CHANNELS, True, 30, "api")
    assert c.allows("WHATSAPP")
    c = c.apply("VOICE", False, 40, "api")
    assert not c.allows("VOICE") and c.allows("SMS")


def test_older_or_replayed_change_is_ignored() -> None:
    c = Consent().apply("SMS", False, 20, "keyword")
    assert c.apply("SMS", True, 10, "import") is c
    assert c.apply("SMS", False, 20, "keyword") is c
    assert not c.allows("SMS")


@pytest.mark.parametrize(("known", "now", "stamped"), [
    pytest.param((), 50, 50, id="nothing-known"),
    pytest.param(((ALL_CHANNELS, False, 10),), 50, 50, id="known-change-older"),
    pytest.param(((ALL_CHANNELS, False, 50),), 50, 51, id="same-millisecond"),
    pytest.param(((ALL_CHANNELS, False, 50), ("SMS", True, 70)), 50, 71, id="clock-behind-newest"),
])
def test_a_change_decided_now_is_stamped_after_every_known_one(
        known: tuple[tuple[str, bool, int], ...], now: int, stamped: int) -> None:
    c = Consent()
    for channel, opted_in, at in known:
        c = c.apply(channel, opted_in, at, "keyword")
    assert c.stamp(now) == stamped


def test_stop_then_start_in_one_millisecond_ends_opted_in() -> None:
    c = Consent().apply(ALL_CHANNELS, False, 5, "keyword")
    c = c.apply(ALL_CHANNELS, False, c.stamp(50), "keyword")
    c = c.apply(ALL_CHANNELS, True, c.stamp(50), "keyword")
    assert c.allows("WHATSAPP") and c.allows("SMS")
