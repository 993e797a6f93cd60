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
