from dataclasses import replace

import pytest

from connectors.factory import capabilities
from streams.care.keywords import Intent, fold
from streams.care.loopguard import SentText
from streams.decide.consent import ALL_CHANNELS, Consent
from streams.decide.inbound import InboundFacts, cancellable, decide
from streams.decide.intake import decide as intake
from streams.decide.records import Patient, Question

from .helpers import request, world

NOW = 1_000_000


def facts(text: str = "hola", **kw) -> InboundFacts:
    base = InboundFacts("twilio:SM1", "clinic", "SMS", NOW, None, fold(text))
    return replace(base, **kw)


def test_stop_on_one_channel_opts_out_of_every_channel() -> None:
    h = decide(Patient(), facts("Stop"), (), world(NOW))
    assert h.intent is Intent.OPT_OUT and h.consent is not None
    assert (h.consent.channel, h.consent.opted_in, h.consent.reason) == (ALL_CHANNELS, False, "opt_out")


def test_start_restores_every_channel() -> None:
    h = decide(Patient(), facts("START"), (), world(NOW))
    assert h.consent is not None and (h.consent.channel, h.consent.opted_in) == (ALL_CHANNELS, True)


def test_stopall_opts_out_of_every_channel() -> None:
    h = decide(Patient(), facts("STOPALL"), (), world(NOW))
    assert h.consent is not None and h.consent.channel == ALL_CHANNELS


def test_help_gets_an_automatic_answer_in_the_keyword_language() -> None:
    h = decide(Patient(), facts("Ayuda"), (), world(NOW))
    assert h.reply_help and h.language == "es"


def test_cancelar_answers_the_open_question_and_closes_it() -> None:
    patient = Patient(question=Question("m1", NOW - 1000))
    h = decide(patient, facts("CANCELAR"), (), world(NOW))
    assert h.intent is Intent.CANCEL and h.answer == ("cancel", "m1") and h.patient.question is None
    h = decide(Patient(), facts("CANCELAR"), (), world(NOW))
    assert h.intent is Intent.OPT_OUT


def test_a_stale_question_is_not_open() -> None:
    patient = Patient(question=Question("m1", NOW - 73 * 3600 * 1000))
    assert decide(patient, facts("cancel"), (), world(NOW)).intent is Intent.OPT_OUT


@pytest.mark.parametrize(("payload", "answer"), [
    pytest.param("confirm:m7", ("confirm", "m7"), id="confirm"),
    pytest.param("cancel:m7", ("cancel", "m7"), id="cancel"),
    pytest.param("reschedule:m7", ("reschedule", "m7"), id="reschedule-from-the-patient-page"),
])
def test_button_answer_names_its_message(payload: str, answer: tuple[str, str]) -> None:
    h = decide(Patient(), facts("", payload=payload), (), world(NOW))
    assert h.answer == answer


def test_duplicate_own_number_and_echo_are_dropped() -> None:
    first = decide(Patient(), facts(), (), world(NOW))
    assert decide(first.patient, facts(), (), world(NOW)).reason == "duplicate"
    assert decide(Patient(), facts(own_sender=True), (), world(NOW)).reason == "own_number"
    echo = decide(Patient(), facts(digest="d"), (SentText(NOW - 1500, digest="d"),), world(NOW))
    assert (echo.accepted, echo.reason) == (False, "echo")


def test_whatsapp_inbound_opens_the_window_of_the_receiving_sender() -> None:
    h = decide(Patient(), facts(channel="WHATSAPP", instance_id="wa-meta"), (), world(NOW))
    assert h.patient.last_inbound() == {"wa-meta": NOW}


def test_ping_pong_alert() -> None:
    patient = Patient()
    patient = replace(patient, loop=replace(patient.loop, automated=(NOW - 3000, NOW - 2000, NOW - 1000)))
    alerts = []
    for i in range(3):
        h = decide(patient, facts("ok", event_id=f"e{i}", received_at_ms=NOW + i), (), world(NOW + i))
        alerts.append(h.alert)
        patient = h.patient
    assert alerts == [None, None, "ping_pong"]


def test_opt_out_cancels_pending_non_urgent_messages_left_without_a_channel() -> None:
    msg = intake(Patient(), None, request(channels=("SMS",)), world(NOW), {}).message
    urgent = intake(Patient(), None, request("u1", channels=("SMS",), priority="URGENT"), world(NOW), {}).message
    both = intake(Patient(), None, request("m2", channels=("SMS", "WHATSAPP")), world(NOW), {}).message
    no_sms = Consent().apply("SMS", False, NOW, "keyword")
    assert cancellable(msg, no_sms)
    assert not cancellable(urgent, no_sms)
    assert not cancellable(both, no_sms)  # WhatsApp is still allowed: it goes there
    assert cancellable(both, Consent().apply(ALL_CHANNELS, False, NOW, "keyword"))


def test_free_text_answers_read_with_the_question_open() -> None:
    patient = Patient(question=Question("m1", NOW - 1000, "a1"))
    h = decide(patient, facts("Sí, confirmo"), (), world(NOW))
    assert h.answer == ("confirm", "m1") and h.patient.question is None
    assert h.question is not None and h.question.appointment_id == "a1"
    h = decide(patient, facts("Reprogramar"), (), world(NOW))
    assert h.answer == ("reschedule", "m1") and h.patient.question is None
    h = decide(patient, facts("no"), (), world(NOW))
    assert h.answer == ("cancel", "m1")


def test_an_unclear_reply_gets_one_clarification_then_goes_to_staff() -> None:
    patient = Patient(question=Question("m1", NOW - 1000, "a1"))
    first = decide(patient, facts("si puedo ir pero tarde"), (), world(NOW))
    assert first.clarify and first.attention is None and first.answer is None
    assert first.patient.question is not None and first.patient.question.clarified
    second = decide(first.patient, facts("quizas", event_id="twilio:SM2"), (), world(NOW))
    assert not second.clarify and second.attention == "unclear_reply"
    assert second.patient.question is not None  # still open: a later "1" confirms
    third = decide(second.patient, facts("1", event_id="twilio:SM3"), (), world(NOW))
    assert third.answer == ("confirm", "m1")


def test_free_text_without_a_question_is_nobodys_answer() -> None:
    h = decide(Patient(), facts("si puedo ir pero tarde"), (), world(NOW))
    assert h.reason == "free_text" and not h.clarify and h.attention is None and h.answer is None


def test_free_text_nothing_claims_goes_to_the_ai_agent() -> None:
    h = decide(Patient(), facts("a qué hora abren?"), (), world(NOW))
    assert (h.reason, h.to_ai) == ("free_text", True)
    assert not decide(Patient(), facts(""), (), world(NOW)).to_ai  # nothing to answer
    assert not decide(Patient(), facts("Ayuda"), (), world(NOW)).to_ai  # a keyword claims it


def test_a_paused_conversation_is_not_handed_to_the_ai_agent() -> None:
    paused = replace(Patient(), loop=replace(Patient().loop, paused_until_ms=NOW + 60_000))
    h = decide(paused, facts("a qué hora abren?"), (), world(NOW))
    assert (h.reason, h.to_ai) == ("free_text_paused", False)


def test_an_unclear_reply_gets_one_clarification_then_goes_to_staff_and_the_ai_agent() -> None:
    patient = Patient(question=Question("m1", NOW - 1000, "apt-1"))
    first = decide(patient, facts("mmm no se", event_id="e1"), (), world(NOW))
    assert first.clarify and not first.to_ai and first.attention is None
    second = decide(first.patient, facts("mmm no se", event_id="e2"), (), world(NOW + 10))
    assert second.attention == "unclear_reply" and second.to_ai and not second.clarify
    assert second.question is not None and second.question.appointment_id == "apt-1"


DAY = 86_400_000


def _after(ids: list[str], then: int) -> Patient:
    """The patient after inbound messages `ids` arrived, one a second, the last at `then`."""
    patient = Patient()
    for n, event_id in enumerate(ids):
        patient = decide(patient, facts("hola", event_id=event_id), (), world(then - (len(ids) - n) * 1000)).patient
    return patient


REPLAYS = [
    # (id, ids before, the replay's delay after the last one, window days, expected reason)
    ("replay_at_once", ["twilio:SMstop"], 1000, 7, "duplicate"),
    ("replay_after_33_others", ["twilio:SMstop", *(f"twilio:SM{i}" for i in range(33))], 1000, 7, "duplicate"),
    ("replay_after_500_others_6_days", ["twilio:SMstop", *(f"twilio:SM{i}" for i in range(500))], 6 * DAY, 7,
     "duplicate"),
    ("replay_after_the_window", ["twilio:SMstop"], 7 * DAY, 7, "opt_out"),
    ("shorter_window_setting", ["twilio:SMstop"], 2 * DAY, 1, "opt_out"),
]


@pytest.mark.parametrize(("before", "delay", "days", "reason"), [r[1:] for r in REPLAYS], ids=[r[0] for r in REPLAYS])
def test_a_replayed_inbound_id_is_dropped_for_days(before: list[str], delay: int, days: int, reason: str) -> None:
    then = NOW + 10 * DAY
    patient = _after(before, then)
    h = decide(patient, facts("STOP", event_id="twilio:SMstop"), (), world(then + delay, inbound_dedup_ms=days * DAY))
    assert h.reason == reason


def test_the_inbound_ids_are_pruned_past_the_window() -> None:
    then = NOW + 10 * DAY
    patient = _after([f"twilio:SM{i}" for i in range(40)], then)
    assert len(patient.inbound_ids) == 40
    later = decide(patient, facts(event_id="twilio:SMnew"), (), world(then + 8 * DAY)).patient
    assert [s.event_id for s in later.inbound_ids] == ["twilio:SMnew"]


def test_ids_of_the_previous_record_format_still_count() -> None:
    old = Patient(inbound_seen=("twilio:SMstop",))
    h = decide(old, facts("STOP", event_id="twilio:SMstop"), (), world(NOW))
    assert h.reason == "duplicate"
    h = decide(old, facts(event_id="twilio:SMother"), (), world(NOW))
    assert h.patient.inbound_seen == ()
    assert [s.event_id for s in h.patient.inbound_ids] == ["twilio:SMstop", "twilio:SMother"]


def _paused(until: int = NOW + 60_000, **kw) -> Patient:
    return replace(Patient(), loop=replace(Patient().loop, paused_until_ms=until), **kw)


BOT_LIKE = replace(Patient().loop, automated=(NOW - 3000, NOW - 2000, NOW - 1000), bot_like=(NOW - 2500, NOW - 1500))

PAUSED_ROWS = [
    # (id, patient, text, reason, while_paused, alert, to_ai)
    ("free-text-on-a-paused-conversation", _paused(), "necesito ayuda", "free_text_paused", True, None, False),
    ("help-on-a-paused-conversation", _paused(), "AYUDA", "help", True, None, False),
    ("stop-on-a-paused-conversation", _paused(), "STOP", "opt_out", True, None, False),
    ("the-message-that-pauses-goes-with-the-alert", replace(Patient(), loop=BOT_LIKE), "ok", "free_text_paused",
     False, "ping_pong", False),
    ("pause-over", _paused(until=NOW), "necesito ayuda", "free_text", False, None, True),
    ("never-paused", Patient(), "necesito ayuda", "free_text", False, None, True),
]


@pytest.mark.parametrize(("patient", "text", "reason", "while_paused", "alert", "to_ai"),
                         [r[1:] for r in PAUSED_ROWS], ids=[r[0] for r in PAUSED_ROWS])
def test_every_message_on_a_paused_conversation_reaches_staff(patient, text, reason, while_paused, alert,
                                                              to_ai) -> None:
    h = decide(patient, facts(text), (), world(NOW))
    assert (h.reason, h.while_paused, h.alert, h.to_ai) == (reason, while_paused, alert, to_ai)


OUT_ALL = Consent().apply(ALL_CHANNELS, False, NOW - 10, "keyword")
OUT_SMS = Consent().apply("SMS", False, NOW - 10, "api")
WA = {"channel": "WHATSAPP", "carrier_keywords": capabilities("meta").keywords_answered("WHATSAPP")}
TW_SMS = {"channel": "SMS", "carrier_keywords": capabilities("twilio").keywords_answered("SMS")}
TW_VOICE = {"channel": "VOICE", "carrier_keywords": capabilities("twilio").keywords_answered("VOICE")}

CONFIRM_ROWS = [
    # (id, consent, text, facts, confirmation)
    ("stop-on-whatsapp", Consent(), "STOP", WA, "opt_out_confirmation"),
    ("a-second-stop-sends-nothing", OUT_ALL, "STOP", WA, None),
    ("baja-on-twilio-sms", Consent(), "¡Baja!", TW_SMS, "opt_out_confirmation"),
    ("stop-on-twilio-sms-twilio-confirms-it", Consent(), "STOP", TW_SMS, None),
    ("stop-after-an-sms-only-opt-out", OUT_SMS, "STOP", WA, "opt_out_confirmation"),
    ("start-after-an-opt-out", OUT_ALL, "START", WA, "opt_in_confirmation"),
    ("alta-on-twilio-sms", OUT_ALL, "ALTA", TW_SMS, "opt_in_confirmation"),
    ("start-on-twilio-sms-twilio-confirms-it", OUT_ALL, "START", TW_SMS, None),
    ("start-with-nothing-refused-sends-nothing", Consent(), "START", WA, None),
    ("voltar-after-an-sms-only-opt-out", OUT_SMS, "VOLTAR", WA, "opt_in_confirmation"),
    ("stop-on-a-call-is-not-answered", Consent(), "STOP", TW_VOICE, None),
    ("help-is-no-consent-change", Consent(), "HELP", WA, None),
]


@pytest.mark.parametrize(("consent", "text", "where", "confirmation"), [r[1:] for r in CONFIRM_ROWS],
                         ids=[r[0] for r in CONFIRM_ROWS])
def test_consent_changes_are_confirmed_once_where_the_keyword_came_in(consent, text, where, confirmation) -> None:
    h = decide(Patient(consent=consent), facts(text, **where), (), world(NOW))
    assert h.confirm == confirmation
