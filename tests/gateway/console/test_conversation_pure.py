"""The conversation page's decisions (gateway.console.conversation): one row per named case."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from gateway.console import conversation as conv
from gateway.console.conversation import ConsentMark, Inbound, Outbound, Window
from gateway.console.i18n import Words

H = 3600 * 1000
NOW = 1_800_000_000_000


def inbound(at_ms: int, channel: str = "WHATSAPP", event_id: str = "in") -> Inbound:
    return Inbound(event_id, "org", at_ms, channel, "TEXT")


def outbound(at_ms: int, message_id: str = "out", language: str = "es") -> Outbound:
    return Outbound(message_id, "org", at_ms, "staff", False, ("WHATSAPP", "SMS"), None, language)


def opted(channel: str, opted_in: bool, at_ms: int = NOW - H) -> tuple[str, ConsentMark]:
    return channel, ConsentMark(channel, opted_in, at_ms, "keyword")


@pytest.mark.parametrize("messages, expected", [
    ((), Window(False, None, None)),
    ((inbound(NOW - H),), Window(True, NOW - H, NOW + 23 * H)),
    ((inbound(NOW - 24 * H),), Window(False, NOW - 24 * H, NOW)),
    ((inbound(NOW - 30 * H), inbound(NOW - 2 * H)), Window(True, NOW - 2 * H, NOW + 22 * H)),
    ((inbound(NOW - H, "SMS"),), Window(False, None, None)),
    ((inbound(NOW - H, "SMS"), inbound(NOW - 25 * H)), Window(False, NOW - 25 * H, NOW - H)),
], ids=["never_wrote", "wrote_an_hour_ago", "exactly_24h_is_closed", "newest_whatsapp_counts",
        "sms_opens_no_whatsapp_window", "sms_newer_than_an_old_whatsapp"])
def test_whatsapp_window(messages, expected):
    assert conv.window(messages, NOW) == expected


OPEN, CLOSED = Window(True, NOW - H, NOW + 23 * H), Window(False, NOW - 25 * H, NOW - H)


@pytest.mark.parametrize("win, marks, expected", [
    (OPEN, {}, conv.ReplyOffer(conv.FREE_TEXT, ("WHATSAPP", "SMS"), None)),
    (CLOSED, {}, conv.ReplyOffer(conv.TEMPLATE, ("WHATSAPP", "SMS"), "window_closed")),
    (OPEN, dict([opted("WHATSAPP", False)]), conv.ReplyOffer(conv.TEMPLATE, ("SMS",), "no_whatsapp_consent")),
    (OPEN, dict([opted("SMS", False)]), conv.ReplyOffer(conv.FREE_TEXT, ("WHATSAPP",), None)),
    (OPEN, dict([opted("UNKNOWN", False)]), conv.ReplyOffer(conv.NO_REPLY, (), "no_consent")),
    (OPEN, dict([opted("UNKNOWN", False, NOW - 2 * H), opted("WHATSAPP", True)]),
     conv.ReplyOffer(conv.FREE_TEXT, ("WHATSAPP",), None)),
    (CLOSED, dict([opted("WHATSAPP", False), opted("SMS", False)]), conv.ReplyOffer(conv.NO_REPLY, (), "no_consent")),
], ids=["window_open_free_text", "window_closed_template", "whatsapp_opted_out_template_by_sms",
        "sms_opted_out_whatsapp_only", "opted_out_of_everything", "newer_channel_opt_in_beats_older_opt_out_of_all",
        "both_opted_out"])
def test_which_reply_the_page_offers(win, marks, expected):
    assert conv.reply_offer(win, marks) == expected


FREE = conv.ReplyOffer(conv.FREE_TEXT, ("WHATSAPP", "SMS"), None)
TEMPLATE_ONLY = conv.ReplyOffer(conv.TEMPLATE, ("WHATSAPP", "SMS"), "window_closed")
NOTHING = conv.ReplyOffer(conv.NO_REPLY, (), "no_consent")


@pytest.mark.parametrize("offer, kind, text, template, expected", [
    (FREE, conv.FREE_TEXT, "hola", None, None),
    (FREE, conv.FREE_TEXT, "  ", None, ("text", "empty")),
    (FREE, conv.FREE_TEXT, "x" * (conv.MAX_TEXT + 1), None, ("text", "too_long")),
    (TEMPLATE_ONLY, conv.FREE_TEXT, "hola", None, ("text", "window_closed")),
    (conv.ReplyOffer(conv.TEMPLATE, ("SMS",), "no_whatsapp_consent"), conv.FREE_TEXT, "hola", None,
     ("text", "no_whatsapp_consent")),
    (TEMPLATE_ONLY, conv.TEMPLATE, "", "appointment_confirmed", None),
    (FREE, conv.TEMPLATE, "", "appointment_confirmed", None),
    (TEMPLATE_ONLY, conv.TEMPLATE, "", None, ("template", "choose_template")),
    (TEMPLATE_ONLY, conv.TEMPLATE, "", "no_such_template", ("template", "choose_template")),
    (NOTHING, conv.FREE_TEXT, "hola", None, ("reply", "no_consent")),
    (NOTHING, conv.TEMPLATE, "", "appointment_confirmed", ("reply", "no_consent")),
    (FREE, "other", "hola", None, ("reply", "unknown_kind")),
], ids=["free_text_in_window", "empty_text", "text_too_long", "free_text_window_closed",
        "free_text_whatsapp_opted_out", "template_window_closed", "template_in_window", "no_template_chosen",
        "unknown_template", "no_consent_text", "no_consent_template", "unknown_kind"])
def test_reply_refusals(offer, kind, text, template, expected):
    assert conv.refusal(offer, kind, text, template, ["appointment_confirmed"]) == expected


def state(status: str, channel: str | None, history_channels: tuple[str, ...] = (), final: bool = False,
          reason: str | None = None) -> dict:
    return {"status": status, "channel": channel, "is_final": final, "reason": reason, "error_code": None,
            "history": [{"channel": c} for c in history_channels]}


@pytest.mark.parametrize("doc, expected", [
    (None, conv.Status("accepted", None, None, False, None, None)),
    (state("accepted", "UNKNOWN", ("UNKNOWN",)), conv.Status("accepted", None, None, False, None, None)),
    (state("sent", "WHATSAPP", ("UNKNOWN", "WHATSAPP")), conv.Status("sent", "WHATSAPP", None, False, None, None)),
    (state("delivered", "WHATSAPP", ("WHATSAPP", "WHATSAPP"), True),
     conv.Status("delivered", "WHATSAPP", None, True, None, None)),
    (state("delivered", "SMS", ("WHATSAPP", "WHATSAPP", "SMS"), True),
     conv.Status("delivered", "SMS", "WHATSAPP", True, None, None)),
    (state("failed", "SMS", ("WHATSAPP", "SMS"), True, "no_channel_left"),
     conv.Status("failed", "SMS", "WHATSAPP", True, "no_channel_left", None)),
    (state("held", None, (), False, "rate_limited"), conv.Status("held", None, None, False, "rate_limited", None)),
], ids=["accepted_not_reported_yet", "accepted_no_channel_yet", "sent_on_whatsapp", "delivered_on_whatsapp",
        "fell_back_to_sms_and_delivered", "failed_after_fallback", "held_by_rate_limit"])
def test_status_of_an_outbound_message(doc, expected):
    assert conv.status_of(doc) == expected


def notice(reason: str, at_ms: int, until: int | None) -> SimpleNamespace:
    details = (("paused_until", str(until)),) if until is not None else ()
    return SimpleNamespace(reason=reason, occurred_at=at_ms, details=details)


@pytest.mark.parametrize("notices, resumed, expected", [
    ((), None, None),
    ((notice("loop_paused", NOW - H, NOW + H),), None, conv.Pause(NOW - H, NOW + H)),
    ((notice("loop_paused", NOW - 2 * H, NOW - H),), None, None),
    ((notice("loop_paused", NOW - H, NOW + H),), NOW - 30 * 60_000, None),
    ((notice("loop_paused", NOW - H, NOW + H),), NOW - 2 * H, conv.Pause(NOW - H, NOW + H)),
    ((notice("loop_paused", NOW - 3 * H, NOW + H), notice("message_while_paused", NOW - H, NOW + 2 * H)),
     NOW - 2 * H, conv.Pause(NOW - H, NOW + 2 * H)),
    ((notice("cancel_requested", NOW - H, NOW + H),), None, None),
    ((notice("loop_paused", NOW - H, None),), None, None),
], ids=["never_paused", "paused", "pause_ran_out", "resumed_after_the_pause", "resumed_before_a_newer_pause",
        "a_message_while_paused_after_resume_means_paused_again", "other_reasons_do_not_pause",
        "no_paused_until_detail"])
def test_pause(notices, resumed, expected):
    assert conv.pause(notices, resumed, NOW) == expected


def test_thread_is_in_order_both_ways_newest_kept_and_the_patient_first_on_a_tie():
    ins = [inbound(NOW - 3 * H, event_id="a"), inbound(NOW - H, event_id="c")]
    outs = [outbound(NOW - 2 * H, "b"), outbound(NOW - H, "d")]
    entries, total = conv.thread(ins, outs, 3)
    assert [e.id for e in entries] == ["b", "c", "d"] and total == 4
    assert conv.thread(ins, outs, 0) == ([], 4)


@pytest.mark.parametrize("marks, expected", [
    ({}, ("on_file", "on_file", "on_file")),
    (dict([opted("SMS", False)]), ("on_file", "opted_out", "on_file")),
    (dict([opted("UNKNOWN", False, NOW - 2 * H), opted("WHATSAPP", True)]), ("opted_in", "opted_out", "opted_out")),
], ids=["nothing_recorded", "sms_opted_out", "all_out_then_whatsapp_back_in"])
def test_consent_rows(marks, expected):
    assert tuple(r.state for r in conv.consent_rows(marks)) == expected


@pytest.mark.parametrize("text, params, expected", [
    ("Cita el {date} a las {time}.", {"date": "1 de mayo", "time": "10:30"}, "Cita el 1 de mayo a las 10:30."),
    ("Cita el {date} a las {time}.", {"date": "1 de mayo", "time": " "}, "Cita el 1 de mayo a las [time]."),
    ("Cita el {date}.", {}, "Cita el [date]."),
    ("Llaves {", {}, "Llaves {"),
], ids=["all_filled", "blank_shown_as_placeholder", "missing_shown_as_placeholder", "stray_brace_as_written"])
def test_preview_placeholders(text, params, expected):
    assert conv.placeholders(text, params) == expected


@pytest.mark.parametrize("outs, expected", [
    ((), "en"), ((outbound(NOW - 2 * H, "a", "pt"), outbound(NOW - H, "b", "es")), "es"),
], ids=["default_without_messages", "newest_message_language"])
def test_reply_language(outs, expected):
    assert conv.newest_language(outs, "en") == expected


REFUSALS = ("window_closed", "no_whatsapp_consent", "no_consent", "empty", "too_long", "choose_template",
            "unknown_kind", "params", "refused", "already_sent", "unavailable", "no_number")


@pytest.mark.parametrize("reason", REFUSALS)
def test_every_refusal_is_said_in_words_in_each_language(reason):
    for lang in ("es", "en", "pt"):
        assert Words(lang)(f"conv_err_{reason}", max=conv.MAX_TEXT, field="text")


@pytest.mark.parametrize(("ins", "outs", "seen", "newest", "news"), [
    pytest.param((), (), 0, 0, (0, 0), id="empty-thread"),
    pytest.param((100,), (50,), 100, 100, (0, 0), id="page-shows-the-newest"),
    pytest.param((100, 300), (50,), 100, 300, (1, 0), id="the-patient-wrote-again"),
    pytest.param((100,), (50, 200, 250), 100, 250, (0, 2), id="the-clinic-sent-more"),
    pytest.param((100, 400), (300,), 100, 400, (1, 1), id="both-ways"),
    pytest.param((100,), (), 0, 100, (1, 0), id="page-opened-on-an-empty-thread"),
])
def test_newer_messages_than_an_open_page_shows(ins, outs, seen, newest, news):
    i = [inbound(at, event_id=f"in{n}") for n, at in enumerate(ins)]
    o = [outbound(at, message_id=f"out{n}") for n, at in enumerate(outs)]
    assert (conv.newest_at(i, o), conv.newer(i, o, seen)) == (newest, news)
