"""The conversation state of one patient around appointment questions, and what each reply causes.

A reminder that asks (template `asks == "confirm_cancel"`) opens a question. A reply is read with
`replies.parse` against the latest open one; a button payload may answer an earlier reminder still
remembered. Outputs are plain data: business CareEvents for the scheduling system
(`appointment.events`), staff notifications (`staff.notifications`), the acknowledgement or
clarification to send, and whether the message goes to the AI agent.

Unclear replies get ONE clarification per question; the next unclear reply goes to the AI agent
(when enabled) and staff are told, with the patient's words sealed in the notification. The question
stays open until it expires or is answered, so a later "1" still confirms.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from streams.care.replies import Answer, parse

QUESTION_TTL_MS = 72 * 3600 * 1000  # reminders go out 24-48 h ahead; an answer after that is stale
REMEMBERED = 5                      # earlier questions a button tap may still answer

CONFIRMED = "appointment.confirmed"
CANCEL_REQUESTED = "appointment.cancel_requested"
RESCHEDULE_REQUESTED = "appointment.reschedule_requested"
ATTENTION = "staff.attention_needed"
# what the patient is told after answering; a reschedule request is answered by staff, who call back
ACKNOWLEDGEMENTS = {"confirm": "appointment_confirmed", "cancel": "appointment_cancelled"}


@dataclass(frozen=True)
class Question:
    appointment_id: str
    message_id: str  # the reminder that asked
    asked_at_ms: int
    expires_at_ms: int
    clarified: bool = False

    def open_at(self, now_ms: int) -> bool:
        return now_ms < self.expires_at_ms


@dataclass(frozen=True)
class Conversation:
    """Kept per patient (table keyed by recipient_id); newest question last."""

    questions: tuple[Question, ...] = ()

    def open_question(self, now_ms: int) -> Question | None:
        latest = self.questions[-1] if self.questions else None
        return latest if latest is not None and latest.open_at(now_ms) else None

    def by_message(self, message_id: str) -> Question | None:
        return next((q for q in self.questions if q.message_id == message_id), None)


@dataclass(frozen=True)
class Inbound:
    """The parts of an InboundMessage a reply decision needs; the text is opened by the agent."""

    event_id: str
    text: str | None
    payload: str | None
    channel: str
    received_at_ms: int


@dataclass(frozen=True)
class Event:
    """A CareEvent to publish; `with_text` asks the agent to attach the patient's words, sealed."""

    type: str
    appointment_id: str | None
    message_id: str | None
    reason: str | None = None
    language: str | None = None
    with_text: bool = False

    def event_id(self, cause: str) -> str:
        """Deterministic: the same inbound message always yields the same event (replays collapse)."""
        return f"{cause}:{self.type}"


@dataclass(frozen=True)
class Step:
    conversation: Conversation
    claimed: bool                      # False: not a reply to us; keywords and the AI bridge decide
    answer: Answer = Answer.NONE
    business: tuple[Event, ...] = ()   # -> appointment.events
    staff: tuple[Event, ...] = ()      # -> staff.notifications
    send_template: str | None = None   # acknowledgement or clarification, automated_reply=true
    appointment_id: str | None = None  # whose date and time the acknowledgement names
    to_ai: bool = False
    language: str | None = None


def ask(conv: Conversation, appointment_id: str, message_id: str, now_ms: int,
        ttl_ms: int = QUESTION_TTL_MS) -> Conversation:
    """A reminder that asks has been sent: it becomes the open question."""
    if conv.by_message(message_id) is not None:
        return conv
    kept = tuple(q for q in conv.questions if q.appointment_id != appointment_id)
    return Conversation((*kept, Question(appointment_id, message_id, now_ms, now_ms + ttl_ms))[-REMEMBERED:])


def close(conv: Conversation, appointment_id: str) -> Conversation:
    """The appointment was cancelled, rescheduled or answered: its question is no longer open."""
    kept = tuple(q for q in conv.questions if q.appointment_id != appointment_id)
    return conv if len(kept) == len(conv.questions) else Conversation(kept)


def on_reply(conv: Conversation, msg: Inbound, now_ms: int, *, ai_enabled: bool = True) -> Step:
    question = conv.open_question(now_ms)
    reply = parse(msg.text, msg.payload, question_open=question is not None)
    if reply.answer is Answer.NONE:
        return Step(conv, claimed=False)
    if reply.message_id is not None:
        # a button names its reminder; an unknown or expired one is not ours to act on
        question = conv.by_message(reply.message_id)
        if question is None or not question.open_at(now_ms):
            return Step(conv, claimed=True, answer=reply.answer,
                        staff=(Event(ATTENTION, None, reply.message_id, "stale_answer", reply.language),))
    if question is None:  # parse claims text only with a question open; kept for the type checker
        return Step(conv, claimed=False)
    appt, mid, lang = question.appointment_id, question.message_id, reply.language
    if reply.answer is Answer.CONFIRM:
        return Step(close(conv, appt), True, reply.answer, (Event(CONFIRMED, appt, mid, None, lang),),
                    send_template="appointment_confirmed", appointment_id=appt, language=lang)
    if reply.answer is Answer.CANCEL:
        return Step(close(conv, appt), True, reply.answer, (Event(CANCEL_REQUESTED, appt, mid, None, lang),),
                    staff=(Event(ATTENTION, appt, mid, "cancel_requested", lang),),
                    send_template="appointment_cancelled", appointment_id=appt, language=lang)
    if reply.answer is Answer.RESCHEDULE:
        return Step(close(conv, appt), True, reply.answer, (Event(RESCHEDULE_REQUESTED, appt, mid, None, lang),),
                    staff=(Event(ATTENTION, appt, mid, "reschedule_requested", lang),),
                    send_template="holding_message", appointment_id=appt, language=lang)
    # UNCLEAR
    if not question.clarified:
        updated = replace(question, clarified=True)
        questions = tuple(updated if q is question else q for q in conv.questions)
        return Step(Conversation(questions), True, reply.answer, send_template="clarification",
                    appointment_id=appt)
    staff = (Event(ATTENTION, appt, mid, "unclear_reply", None, with_text=True),)
    if ai_enabled:
        return Step(conv, True, reply.answer, staff=staff, to_ai=True, appointment_id=appt)
    return Step(conv, True, reply.answer, staff=staff, send_template="holding_message", appointment_id=appt)


@dataclass(frozen=True)
class When:
    """An appointment's date and time as words for the patient, in the language they go out in."""

    language: str
    date: str | None
    time: str | None


@dataclass(frozen=True)
class Acknowledgement:
    template: str
    language: str
    date: str
    time: str


def acknowledgement(action: str, channel: str, plan: When | None, reminder: When | None) -> Acknowledgement | None:
    """What tells the patient their answer was received, naming the appointment's date and time.

    The reminder plan (an appointment booked on `appointments`) knows the start in the patient's zone
    and wins; otherwise the answered reminder's own parameters (a reminder sent through the API or a
    producer with its `date` and `time`) do. Without either there is nothing true to name. Never on a
    call: a key press is acknowledged by the call's own script, a second call would ring again."""
    template = ACKNOWLEDGEMENTS.get(action)
    if template is None or channel == "VOICE":
        return None
    for when in (plan, reminder):
        if when is not None and when.date and when.time:
            return Acknowledgement(template, when.language, when.date, when.time)
    return None
