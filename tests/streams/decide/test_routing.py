"""routing.choose and window_open as tables: one row per case, inputs and the decision as plain data."""
from collections.abc import Mapping

import pytest

from streams.decide.consent import ALL_CHANNELS
from streams.decide.routing import WHATSAPP_WINDOW_MS, Content, choose, whatsapp_template_gate, window_open

from .helpers import consent_of, instances, plain_route

NOW = 10 * WHATSAPP_WINDOW_MS
REOPEN = NOW + 30_000  # when an open circuit lets a trial through, unless the row says otherwise
CHANNELS = ("WHATSAPP", "SMS", "VOICE")
ALL_OPEN = ("wa-meta", "wa-twilio", "sms-twilio", "voice-twilio")

CONTENT = {
    "template": Content("appointment_reminder", False, True),
    "free_text": Content(None, True, False),
    "template_without_whatsapp_form": Content("lab_result", False, False),
    "template_pending": Content("recordatorio_pt", False, True, "PENDING"),
    "template_rejected": Content("recordatorio_pt", False, True, "REJECTED"),
}


def decide(channels: tuple[str, ...] = CHANNELS, opted_out: tuple[str, ...] = (), open_ids: tuple[str, ...] = (),
           reopen: Mapping[str, int] | None = None, inbound: Mapping[str, int] | None = None,
           content: str = "template", tried: tuple[str, ...] = (), reason: str = "first_choice",
           window_ms: int = WHATSAPP_WINDOW_MS) -> tuple[object, ...]:
    found = choose(channels, consent_of(opted_out), lambda ch: instances("org", ch), lambda i: i in open_ids,
                   lambda i: (reopen or {}).get(i, REOPEN), inbound or {}, CONTENT[content], NOW,
                   tried=frozenset(tried), reason=reason, window_ms=window_ms)
    return plain_route(found)


ROUTES = [
    # WhatsApp and its 24 h customer-service window
    pytest.param({}, ("route", "WHATSAPP", "wa-meta", True, "first_choice"),
                 id="first-channel-first-instance-template-outside-window"),
    pytest.param({"inbound": {"wa-meta": NOW - 1000}}, ("route", "WHATSAPP", "wa-meta", False, "first_choice"),
                 id="inside-window-whatsapp-goes-free-form"),
    pytest.param({"inbound": {"wa-meta": NOW - 1000}, "content": "free_text"},
                 ("route", "WHATSAPP", "wa-meta", False, "first_choice"), id="inside-window-free-text"),
    pytest.param({"inbound": {"wa-twilio": NOW - 1000}, "content": "free_text"},
                 ("route", "WHATSAPP", "wa-twilio", False, "first_choice"), id="window-is-per-sender-instance"),
    pytest.param({"content": "free_text"}, ("route", "SMS", "sms-twilio", False, "fallback_window_closed"),
                 id="free-text-outside-window-moves-to-next-channel"),
    pytest.param({"content": "template_without_whatsapp_form"},
                 ("route", "SMS", "sms-twilio", False, "fallback_window_closed"),
                 id="template-without-whatsapp-form-outside-window-moves-on"),
    pytest.param({"inbound": {"wa-meta": NOW - WHATSAPP_WINDOW_MS}, "content": "free_text"},
                 ("route", "SMS", "sms-twilio", False, "fallback_window_closed"), id="window-closes-after-24-hours"),
    pytest.param({"inbound": {"wa-meta": NOW - WHATSAPP_WINDOW_MS + 1}, "content": "free_text"},
                 ("route", "WHATSAPP", "wa-meta", False, "first_choice"), id="window-open-one-ms-before-24-hours"),
    pytest.param({"inbound": {"wa-meta": NOW - 1000}, "content": "free_text", "window_ms": 500},
                 ("route", "SMS", "sms-twilio", False, "fallback_window_closed"), id="window-length-from-policy"),
    pytest.param({"channels": ("WHATSAPP",), "content": "free_text"},
                 ("no_route", "no_channel_left", None, (("WHATSAPP", "whatsapp_window_closed"),)),
                 id="free-text-outside-window-and-nothing-after"),
    # consent
    pytest.param({"opted_out": ("WHATSAPP",)}, ("route", "SMS", "sms-twilio", False, "first_choice"),
                 id="consent-filters-channels-in-request-order"),
    pytest.param({"opted_out": (ALL_CHANNELS,)},
                 ("no_route", "no_consented_channel", None,
                  (("WHATSAPP", "no_consent"), ("SMS", "no_consent"), ("VOICE", "no_consent"))),
                 id="no-consented-channel"),
    pytest.param({"opted_out": ("WHATSAPP", "SMS"), "tried": ("VOICE",)},
                 ("no_route", "no_channel_left", None, (("WHATSAPP", "no_consent"), ("SMS", "no_consent"))),
                 id="refused-and-tried-is-no-channel-left"),
    pytest.param({"channels": ("SMS", "WHATSAPP")}, ("route", "SMS", "sms-twilio", False, "first_choice"),
                 id="request-order-not-catalog-order"),
    # circuits
    pytest.param({"open_ids": ("wa-meta",)}, ("route", "WHATSAPP", "wa-twilio", True, "first_choice"),
                 id="open-circuit-picks-the-next-instance"),
    pytest.param({"open_ids": ("wa-meta", "wa-twilio")},
                 ("route", "SMS", "sms-twilio", False, "fallback_circuit_open"),
                 id="open-circuits-on-every-instance-pick-the-next-channel"),
    pytest.param({"open_ids": ALL_OPEN},
                 ("no_route", "circuit_open", REOPEN,
                  (("WHATSAPP", "circuit_open"), ("SMS", "circuit_open"), ("VOICE", "circuit_open"))),
                 id="every-circuit-open-says-when-to-retry"),
    pytest.param({"open_ids": ALL_OPEN,
                  "reopen": {"wa-meta": NOW + 90_000, "wa-twilio": NOW + 40_000, "sms-twilio": NOW + 60_000}},
                 ("no_route", "circuit_open", NOW + 30_000,
                  (("WHATSAPP", "circuit_open"), ("SMS", "circuit_open"), ("VOICE", "circuit_open"))),
                 id="retry-at-the-first-circuit-to-reopen"),
    pytest.param({"open_ids": ("wa-meta", "wa-twilio"), "opted_out": ("SMS", "VOICE")},
                 ("no_route", "circuit_open", REOPEN,
                  (("WHATSAPP", "circuit_open"), ("SMS", "no_consent"), ("VOICE", "no_consent"))),
                 id="open-circuit-beats-refused-rest"),
    pytest.param({"open_ids": ("wa-twilio",), "content": "free_text"},
                 ("route", "SMS", "sms-twilio", False, "fallback_circuit_open"),
                 id="last-instance-decides-the-skip-reason"),
    # tried channels (a fallback keeps its own reason)
    pytest.param({"tried": ("WHATSAPP",), "reason": "fallback_timeout"},
                 ("route", "SMS", "sms-twilio", False, "fallback_timeout"), id="tried-skipped-and-reason-kept"),
    pytest.param({"tried": ("WHATSAPP", "SMS"), "reason": "fallback_timeout"},
                 ("route", "VOICE", "voice-twilio", False, "fallback_timeout"), id="two-tried-go-to-the-third"),
    pytest.param({"tried": ("WHATSAPP",), "reason": "fallback_timeout", "open_ids": ("sms-twilio",)},
                 ("route", "VOICE", "voice-twilio", False, "fallback_timeout"),
                 id="fallback-reason-kept-over-a-skip-reason"),
    pytest.param({"tried": CHANNELS}, ("no_route", "no_channel_left", None, ()), id="every-channel-tried"),
    # channels without a sender
    pytest.param({"channels": ("INAPP_X", "SMS")}, ("route", "SMS", "sms-twilio", False, "fallback_no_instance"),
                 id="channel-without-instances"),
    pytest.param({"channels": ("INAPP_X",)}, ("no_route", "no_channel_left", None, (("INAPP_X", "no_instance"),)),
                 id="only-channel-without-instances"),
    pytest.param({"channels": ()}, ("no_route", "no_consented_channel", None, ()), id="no-channel-requested"),
    # Meta's review of the template's WhatsApp form
    pytest.param({"content": "template_pending"}, ("route", "SMS", "sms-twilio", False, "template_not_approved"),
                 id="pending-template-falls-to-sms"),
    pytest.param({"content": "template_rejected"}, ("route", "SMS", "sms-twilio", False, "template_not_approved"),
                 id="rejected-template-falls-to-sms"),
    pytest.param({"content": "template_pending", "inbound": {"wa-meta": NOW - 1000}},
                 ("route", "SMS", "sms-twilio", False, "template_not_approved"),
                 id="pending-template-not-sent-free-form-inside-window-either"),
    pytest.param({"content": "template_pending", "channels": ("WHATSAPP",)},
                 ("no_route", "no_channel_left", None, (("WHATSAPP", "template_not_approved"),)),
                 id="pending-template-and-nothing-after"),
    pytest.param({"content": "template_pending", "tried": ("WHATSAPP",), "reason": "fallback_timeout"},
                 ("route", "SMS", "sms-twilio", False, "fallback_timeout"),
                 id="a-later-hop-keeps-its-own-reason"),
]


@pytest.mark.parametrize(("given", "decision"), ROUTES)
def test_choose(given: dict[str, object], decision: tuple[object, ...]) -> None:
    assert decide(**given) == decision  # type: ignore[arg-type]


@pytest.mark.parametrize(("template", "status", "why"), [
    pytest.param("appointment_reminder", "APPROVED", None, id="approved-goes"),
    pytest.param("recordatorio_pt", "PENDING", "template_not_approved", id="pending-held-back"),
    pytest.param("recordatorio_pt", "REJECTED", "template_not_approved", id="rejected-held-back"),
    pytest.param("recordatorio_pt", "DRAFT", "template_not_approved", id="never-submitted-held-back"),
    pytest.param("lab_result", "UNKNOWN", None, id="no-whatsapp-form-left-to-the-window-rule"),
    pytest.param(None, "PENDING", None, id="free-text-has-no-template"),
])
def test_whatsapp_template_gate(template: str | None, status: str, why: str | None) -> None:
    assert whatsapp_template_gate(template, status) == why


@pytest.mark.parametrize(("last_inbound", "now", "window", "is_open"), [
    pytest.param(None, NOW, WHATSAPP_WINDOW_MS, False, id="never-wrote"),
    pytest.param(NOW - 1, NOW, WHATSAPP_WINDOW_MS, True, id="just-wrote"),
    pytest.param(NOW, NOW, WHATSAPP_WINDOW_MS, True, id="same-millisecond"),
    pytest.param(NOW - WHATSAPP_WINDOW_MS + 1, NOW, WHATSAPP_WINDOW_MS, True, id="last-millisecond"),
    pytest.param(NOW - WHATSAPP_WINDOW_MS, NOW, WHATSAPP_WINDOW_MS, False, id="exactly-24-hours"),
    pytest.param(NOW - 1000, NOW, 1000, False, id="custom-window"),
])
def test_window_open(last_inbound: int | None, now: int, window: int, is_open: bool) -> None:
    assert window_open(last_inbound, now, window) is is_open
