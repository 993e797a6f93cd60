from streams.decide.consent import ALL_CHANNELS, Consent
from streams.decide.routing import WHATSAPP_WINDOW_MS, Content, NoRoute, Route, choose

from .helpers import SMS, VOICE, WA_META, WA_TWILIO, instances

TEMPLATE = Content("appointment_reminder", False, True)
FREE_TEXT = Content(None, True, False)
NOW = 10 * WHATSAPP_WINDOW_MS


NOBODY_OPTED_OUT = Consent()


def route(channels=("WHATSAPP", "SMS", "VOICE"), consent=NOBODY_OPTED_OUT, open_ids=frozenset(), inbound=None,
          content=TEMPLATE, **kw):
    return choose(channels, consent, lambda ch: instances("org", ch), lambda i: i in open_ids,
                  lambda i: NOW + 30_000, inbound or {}, content, NOW, **kw)


def test_first_channel_first_instance_with_template_outside_the_window() -> None:
    r = route()
    assert isinstance(r, Route)
    assert (r.channel, r.instance, r.use_template, r.reason) == ("WHATSAPP", WA_META, True, "first_choice")


def test_inside_the_window_whatsapp_goes_free_form() -> None:
    r = route(inbound={"wa-meta": NOW - 1000})
    assert isinstance(r, Route) and not r.use_template


def test_window_is_per_sender_instance() -> None:
    r = route(inbound={"wa-twilio": NOW - 1000}, content=FREE_TEXT)
    assert isinstance(r, Route) and r.instance == WA_TWILIO and not r.use_template


def test_free_text_outside_the_window_moves_to_the_next_channel() -> None:
    r = route(content=FREE_TEXT)
    assert isinstance(r, Route)
    assert (r.channel, r.reason) == ("SMS", "fallback_window_closed")


def test_window_closes_after_24_hours() -> None:
    r = route(inbound={"wa-meta": NOW - WHATSAPP_WINDOW_MS}, content=FREE_TEXT)
    assert isinstance(r, Route) and r.channel == "SMS"


def test_consent_filters_channels_in_request_order() -> None:
    r = route(consent=Consent().apply("WHATSAPP", False, 1, "keyword"))
    assert isinstance(r, Route) and r.instance == SMS


def test_no_consented_channel() -> None:
    r = route(consent=Consent().apply(ALL_CHANNELS, False, 1, "keyword"))
    assert isinstance(r, NoRoute) and r.reason == "no_consented_channel"


def test_open_circuit_picks_the_next_instance_then_the_next_channel() -> None:
    r = route(open_ids=frozenset({"wa-meta"}))
    assert isinstance(r, Route) and r.instance == WA_TWILIO
    r = route(open_ids=frozenset({"wa-meta", "wa-twilio"}))
    assert isinstance(r, Route) and (r.instance, r.reason) == (SMS, "fallback_circuit_open")


def test_every_circuit_open_says_when_to_retry() -> None:
    r = route(open_ids=frozenset({"wa-meta", "wa-twilio", "sms-twilio", "voice-twilio"}))
    assert isinstance(r, NoRoute) and r.reason == "circuit_open" and r.retry_at_ms == NOW + 30_000


def test_tried_channels_are_skipped_and_the_reason_kept() -> None:
    r = route(tried=frozenset({"WHATSAPP"}), reason="fallback_timeout")
    assert isinstance(r, Route) and (r.instance, r.reason) == (SMS, "fallback_timeout")
    r = route(tried=frozenset({"WHATSAPP", "SMS"}), reason="fallback_timeout")
    assert isinstance(r, Route) and r.instance == VOICE
    r = route(tried=frozenset({"WHATSAPP", "SMS", "VOICE"}))
    assert isinstance(r, NoRoute) and r.reason == "no_channel_left"


def test_channel_without_instances() -> None:
    r = route(channels=("INAPP_X", "SMS"))
    assert isinstance(r, Route) and (r.instance, r.reason) == (SMS, "fallback_no_instance")
