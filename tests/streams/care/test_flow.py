import pytest

from streams.care.flow import (
    ATTENTION,
    CANCEL_REQUESTED,
    CONFIRMED,
    QUESTION_TTL_MS,
    RESCHEDULE_REQUESTED,
    Conversation,
    Inbound,
    When,
    acknowledgement,
    ask,
    close,
    on_reply,
)
from streams.care.replies import Answer

T = 1_000_000


def msg(text=None, payload=None, event_id="twilio:SM1"):
    return Inbound(event_id, text, payload, "SMS", T)


def asked(*pairs):
    conv = Conversation()
    for i, (appt, mid) in enumerate(pairs):
        conv = ask(conv, appt, mid, T + i)
    return conv


def test_confirm_emits_the_business_event_and_acknowledges():
    step = on_reply(asked(("apt-1", "m-1")), msg("sí"), T + 10)
    assert step.claimed and step.answer is Answer.CONFIRM
    [ev] = step.business
    assert (ev.type, ev.appointment_id, ev.message_id, ev.language) == (CONFIRMED, "apt-1", "m-1", "es")
    assert ev.event_id("twilio:SM1") == "twilio:SM1:appointment.confirmed"
    assert step.send_template == "appointment_confirmed" and step.appointment_id == "apt-1"
    assert step.conversation.open_question(T + 10) is None


def test_cancel_tells_the_scheduler_and_staff():
    step = on_reply(asked(("apt-1", "m-1")), msg("2"), T + 10)
    assert [e.type for e in step.business] == [CANCEL_REQUESTED]
    assert [(e.type, e.reason) for e in step.staff] == [(ATTENTION, "cancel_requested")]
    assert step.send_template == "appointment_cancelled"


def test_reschedule_request():
    step = on_reply(asked(("apt-1", "m-1")), msg("reprogramar"), T + 10)
    assert [e.type for e in step.business] == [RESCHEDULE_REQUESTED]
    assert step.send_template == "holding_message"


def test_unclear_gets_one_clarification_then_ai_and_staff():
    conv = asked(("apt-1", "m-1"))
    first = on_reply(conv, msg("a qué hora era?"), T + 10)
    assert first.send_template == "clarification" and not first.to_ai and first.staff == ()
    second = on_reply(first.conversation, msg("no sé", event_id="e2"), T + 20)
    assert second.to_ai and second.send_template is None
    [staff] = second.staff
    assert (staff.reason, staff.with_text) == ("unclear_reply", True)
    # the question stays open: a later "1" still confirms
    third = on_reply(second.conversation, msg("1", event_id="e3"), T + 30)
    assert [e.type for e in third.business] == [CONFIRMED]


def test_unclear_without_ai_gets_a_holding_message():
    conv = on_reply(asked(("apt-1", "m-1")), msg("??"), T).conversation
    step = on_reply(conv, msg("??"), T, ai_enabled=False)
    assert step.send_template == "holding_message" and not step.to_ai


def test_no_question_claims_nothing_so_keywords_apply():
    step = on_reply(Conversation(), msg("CANCELAR"), T)
    assert not step.claimed and step.business == ()
    assert not on_reply(asked(("apt-1", "m-1")), msg("STOP"), T).claimed


def test_expired_question_is_not_answered():
    conv = asked(("apt-1", "m-1"))
    assert not on_reply(conv, msg("1"), T + QUESTION_TTL_MS + 1).claimed


def test_button_answers_the_reminder_it_came_with():
    conv = asked(("apt-1", "m-1"), ("apt-2", "m-2"))
    step = on_reply(conv, msg(payload="cancel:m-1"), T + 10)
    assert [(e.type, e.appointment_id) for e in step.business] == [(CANCEL_REQUESTED, "apt-1")]
    assert step.conversation.open_question(T + 10).appointment_id == "apt-2"
    stale = on_reply(conv, msg(payload="confirm:m-unknown"), T + 10)
    assert stale.business == () and [e.reason for e in stale.staff] == ["stale_answer"]


def test_text_answers_the_latest_question():
    conv = asked(("apt-1", "m-1"), ("apt-2", "m-2"))
    step = on_reply(conv, msg("1"), T + 10)
    assert step.business[0].appointment_id == "apt-2"


def test_ask_is_idempotent_and_close_drops_the_question():
    conv = asked(("apt-1", "m-1"))
    assert ask(conv, "apt-1", "m-1", T + 99) == conv
    assert ask(conv, "apt-1", "m-9", T + 99).questions[-1].message_id == "m-9"  # a newer reminder replaces it
    assert close(conv, "apt-1").open_question(T) is None


PLAN = When("en", "Tuesday 3 March", "10:00 AM")      # an appointment booked on `appointments`
SENT = When("es", "3/4", "10:00")                     # the reminder's own parameters (API, producer)


@pytest.mark.parametrize(("action", "channel", "plan", "reminder", "expected"), [
    ("confirm", "WHATSAPP", PLAN, None, ("appointment_confirmed", "en", "Tuesday 3 March", "10:00 AM")),
    ("confirm", "SMS", None, SENT, ("appointment_confirmed", "es", "3/4", "10:00")),
    ("cancel", "WHATSAPP", None, SENT, ("appointment_cancelled", "es", "3/4", "10:00")),
    ("confirm", "SMS", PLAN, SENT, ("appointment_confirmed", "en", "Tuesday 3 March", "10:00 AM")),
    ("confirm", "SMS", When("en", None, None), SENT, ("appointment_confirmed", "es", "3/4", "10:00")),
    ("confirm", "SMS", None, When("es", "3/4", None), None),
    ("confirm", "SMS", None, None, None),
    ("confirm", "VOICE", PLAN, SENT, None),
    ("reschedule", "SMS", PLAN, SENT, None),
], ids=["plan", "api-reminder", "api-reminder-cancel-button", "plan-wins", "plan-without-start-uses-reminder",
        "reminder-without-time", "nothing-known", "voice-key-press", "reschedule-staff-call-back"])
def test_acknowledgement(action, channel, plan, reminder, expected):
    ack = acknowledgement(action, channel, plan, reminder)
    assert (None if ack is None else (ack.template, ack.language, ack.date, ack.time)) == expected
