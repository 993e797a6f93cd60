"""Consent decisions as tables: a patient's history of changes as plain data, the answer per channel."""
import pytest

from streams.decide.consent import (
    ALL_CHANNELS,
    OPT_IN_CONFIRMATION,
    OPT_OUT_CONFIRMATION,
    Consent,
    allowed_channels,
    changes,
    reach_for,
)

ALL = ALL_CHANNELS
Change = tuple[str, bool, int]  # (channel, opted_in, at_ms)


def history(*known: Change) -> Consent:
    c = Consent()
    for channel, opted_in, at in known:
        c = c.apply(channel, opted_in, at, "keyword")
    return c


ALLOWS = [
    # (changes in the order they arrive) -> which of WHATSAPP, SMS, VOICE, INAPP are allowed
    pytest.param((), ("WHATSAPP", "SMS", "VOICE", "INAPP"), id="no-entry-means-allowed"),
    pytest.param((("SMS", False, 10),), ("WHATSAPP", "VOICE", "INAPP"), id="channel-opt-out-blocks-only-that-channel"),
    pytest.param(((ALL, False, 10),), (), id="all-channels-opt-out-blocks-everything"),
    pytest.param(((ALL, False, 10), ("SMS", True, 20)), ("SMS",), id="newer-channel-opt-in-beats-all-opt-out"),
    pytest.param(((ALL, False, 10), ("SMS", True, 20), (ALL, True, 30)), ("WHATSAPP", "SMS", "VOICE", "INAPP"),
                 id="newer-all-opt-in-beats-everything"),
    pytest.param(((ALL, False, 10), ("SMS", True, 20), (ALL, True, 30), ("VOICE", False, 40)),
                 ("WHATSAPP", "SMS", "INAPP"), id="newer-channel-opt-out-after-all-opt-in"),
    pytest.param((("SMS", False, 30), (ALL, True, 20)), ("WHATSAPP", "VOICE", "INAPP"),
                 id="older-all-opt-in-does-not-undo-a-channel-opt-out"),
    pytest.param((("SMS", True, 30), (ALL, False, 30)), ("SMS",), id="same-millisecond-channel-entry-decides"),
    pytest.param((("SMS", False, 20), ("SMS", True, 10)), ("WHATSAPP", "VOICE", "INAPP"),
                 id="older-change-arriving-late-is-ignored"),
    pytest.param((("SMS", False, 20), ("SMS", True, 20)), ("WHATSAPP", "VOICE", "INAPP"),
                 id="same-millisecond-for-one-channel-first-wins"),
]


@pytest.mark.parametrize(("known", "allowed"), ALLOWS)
def test_allows(known: tuple[Change, ...], allowed: tuple[str, ...]) -> None:
    c = history(*known)
    assert tuple(ch for ch in ("WHATSAPP", "SMS", "VOICE", "INAPP") if c.allows(ch)) == allowed
    assert allowed_channels(c, ("WHATSAPP", "SMS", "VOICE", "INAPP")) == allowed


@pytest.mark.parametrize(("known", "change", "no_op", "entries"), [
    pytest.param((), ("SMS", False, 10), False, (("SMS", False, 10),), id="first-change-recorded"),
    pytest.param((("SMS", False, 20),), ("SMS", True, 10), True, (("SMS", False, 20),), id="older-change-ignored"),
    pytest.param((("SMS", False, 20),), ("SMS", False, 20), True, (("SMS", False, 20),), id="replay-ignored"),
    pytest.param((("SMS", False, 20),), ("SMS", True, 30), False, (("SMS", True, 30),), id="newer-change-replaces"),
    pytest.param((("SMS", False, 20), ("VOICE", False, 5)), ("SMS", True, 30), False,
                 (("VOICE", False, 5), ("SMS", True, 30)), id="other-channels-kept"),
    pytest.param((("SMS", False, 20),), (ALL, False, 10), False, (("SMS", False, 20), (ALL, False, 10)),
                 id="all-channels-is-its-own-entry"),
])
def test_apply(known: tuple[Change, ...], change: Change, no_op: bool, entries: tuple[Change, ...]) -> None:
    before = history(*known)
    after = before.apply(*change, "api")
    assert (after is before) is no_op
    assert tuple((e.channel, e.opted_in, e.at_ms) for e in after.entries) == entries


@pytest.mark.parametrize(("known", "now", "stamped"), [
    pytest.param((), 50, 50, id="nothing-known"),
    pytest.param(((ALL, False, 10),), 50, 50, id="known-change-older"),
    pytest.param(((ALL, False, 50),), 50, 51, id="same-millisecond"),
    pytest.param(((ALL, False, 50), ("SMS", True, 70)), 50, 71, id="clock-behind-newest"),
])
def test_a_change_decided_now_is_stamped_after_every_known_one(
        known: tuple[Change, ...], now: int, stamped: int) -> None:
    assert history(*known).stamp(now) == stamped


def test_stop_then_start_in_one_millisecond_ends_opted_in() -> None:
    c = Consent().apply(ALL_CHANNELS, False, 5, "keyword")
    c = c.apply(ALL_CHANNELS, False, c.stamp(50), "keyword")
    c = c.apply(ALL_CHANNELS, True, c.stamp(50), "keyword")
    assert c.allows("WHATSAPP") and c.allows("SMS")


@pytest.mark.parametrize(("known", "template", "consent_notice", "allowed"), [
    pytest.param(((ALL, False, 10),), OPT_OUT_CONFIRMATION, True, True, id="opt-out-confirmation-goes-through"),
    pytest.param(((ALL, False, 10),), OPT_OUT_CONFIRMATION, False, False,
                 id="opt-out-template-from-the-api-needs-consent"),
    pytest.param(((ALL, False, 10),), OPT_IN_CONFIRMATION, True, False, id="opt-in-confirmation-needs-consent"),
    pytest.param(((ALL, False, 10),), None, True, False, id="free-text-notice-needs-consent"),
    pytest.param(((ALL, False, 10),), "appointment_reminder", False, False, id="ordinary-message-needs-consent"),
    pytest.param((), "appointment_reminder", False, True, id="ordinary-message-with-consent"),
])
def test_reach_for(known: tuple[Change, ...], template: str | None, consent_notice: bool, allowed: bool) -> None:
    assert reach_for(history(*known), template, consent_notice).allows("SMS") is allowed


@pytest.mark.parametrize(("known", "opted_in", "changed"), [
    pytest.param((), False, True, id="first-stop"),
    pytest.param(((ALL, False, 10),), False, False, id="repeated-stop"),
    pytest.param((("SMS", False, 10),), False, True, id="stop-after-one-channel-stop"),
    pytest.param((), True, False, id="start-when-nothing-refused"),
    pytest.param(((ALL, False, 10),), True, True, id="start-after-stop"),
    pytest.param((("INAPP", False, 10),), True, True, id="start-after-one-channel-stop"),
])
def test_changes(known: tuple[Change, ...], opted_in: bool, changed: bool) -> None:
    assert changes(history(*known), opted_in) is changed


@pytest.mark.parametrize(("known", "requested", "allowed"), [
    pytest.param((("SMS", False, 10),), ("WHATSAPP", "SMS", "VOICE"), ("WHATSAPP", "VOICE"),
                 id="request-order-kept-minus-opted-out"),
    pytest.param((), ("VOICE", "SMS"), ("VOICE", "SMS"), id="request-order-not-catalog-order"),
    pytest.param(((ALL, False, 10),), ("WHATSAPP", "SMS"), (), id="none-left"),
    pytest.param((), (), (), id="none-requested"),
])
def test_allowed_channels(known: tuple[Change, ...], requested: tuple[str, ...], allowed: tuple[str, ...]) -> None:
    assert allowed_channels(history(*known), requested) == allowed
