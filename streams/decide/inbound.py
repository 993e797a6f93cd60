"""Inbound: what a patient's message means for their state, and what the system does about it.

Our own numbers and echoes of what we just sent are dropped first (never patient input); then the
WhatsApp window is renewed, the loop guard notes bot-like timing, and the keywords act: consent
changes (confirmed to the patient once per change, `confirm`), cancellation of pending non-urgent
messages on opt-out, a HELP answer, or the answer to an open appointment question. Free text
nothing claims (and an unclear reply after its one clarification) goes to the AI agent (`to_ai`),
unless the loop guard has paused the conversation: then staff own it, and every message of the
patient's while it stays paused is handed to them (`while_paused`); the one that pauses it goes with
the pause notice (`alert`).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from streams.care import keywords, loopguard, replies
from streams.care.keywords import Intent
from streams.decide.consent import (
    ALL_CHANNELS,
    OPT_IN_CONFIRMATION,
    OPT_OUT_CONFIRMATION,
    Consent,
    allowed_channels,
    changes,
)
from streams.decide.dedup import SeenId, remember_for
from streams.decide.records import Ledger, Message, Patient, Question
from streams.decide.world import World


@dataclass(frozen=True)
class InboundFacts:
    """The parts of an InboundMessage the handler decides on; the text arrives folded (keywords.fold)."""

    event_id: str
    organization_id: str
    channel: str
    received_at_ms: int
    instance_id: str | None = None  # our sender that received it (WhatsApp window key)
    folded: str = ""
    digest: str | None = None       # keyed hash of the folded text (echo check)
    payload: str | None = None
    own_sender: bool = False        # sent from one of our own numbers
    # the keywords the provider that delivered it answers itself on this channel (its Capabilities)
    carrier_keywords: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ConsentUpdate:
    channel: str  # a channel, or consent.ALL_CHANNELS
    opted_in: bool
    reason: str   # the keyword class, never the text


@dataclass(frozen=True)
class Handled:
    accepted: bool               # False: dropped (see reason), state unchanged apart from dedup
    reason: str
    patient: Patient
    intent: Intent = Intent.NONE
    language: str | None = None
    consent: ConsentUpdate | None = None
    cancel: tuple[str, ...] = ()  # pending message ids to cancel (opt-out)
    reply_help: bool = False
    answer: tuple[str, str] | None = None  # (confirm|cancel|reschedule, message id of the question)
    alert: str | None = None
    clarify: bool = False           # an unclear reply to the open question: ask once more
    attention: str | None = None    # staff must read this reply (unclear after a clarification)
    question: Question | None = None  # the open question the reply was read against
    to_ai: bool = False             # free text for the AI agent (streams.care.ai_bridge)
    while_paused: bool = False      # the conversation was paused already: staff must read this message
    confirm: str | None = None      # the consent confirmation template to send back (once per change)


def decide(patient: Patient, facts: InboundFacts, sent: tuple[loopguard.SentText, ...], world: World) -> Handled:
    now = world.now_ms
    dup, seen = remember_for(_inbound_ids(patient, now), facts.event_id, now, world.policy.inbound_dedup_ms)
    if dup:
        return Handled(False, "duplicate", patient)
    patient = replace(patient, inbound_seen=(), inbound_ids=seen,
                      organization_id=patient.organization_id or facts.organization_id)
    if facts.own_sender:
        return Handled(False, "own_number", patient)
    if loopguard.is_echo(sent, now, facts.folded, facts.digest, world.policy.loop):
        return Handled(False, "echo", patient)

    if facts.channel == "WHATSAPP" and facts.instance_id:
        patient = patient.with_window(facts.instance_id, facts.received_at_ms)
    was_paused = patient.loop.paused(now)
    ping_pong, loop = loopguard.on_inbound(patient.loop, now, world.policy.loop)
    patient = replace(patient, loop=loop)
    alert = "ping_pong" if ping_pong else None
    h = _read(patient, facts, world, alert)
    return replace(h, while_paused=True) if was_paused else h


def _read(patient: Patient, facts: InboundFacts, world: World, alert: str | None) -> Handled:
    """What the words mean: consent keywords, HELP, an answer to the open question, or free text."""
    now = world.now_ms
    question = patient.open_question(now)
    reading = keywords.read(facts.folded, facts.payload, question_open=question is not None)
    intent = reading.intent
    # A patient who says STOP on one channel means "stop messaging me": reaching them on the next
    # channel instead is exactly what they refused, so every opt-out word covers every channel of
    # this organization (STOP and STOPALL alike), and START / ALTA / VOLTAR restore them all.
    # Carriers still apply their own per-number STOP to SMS (a provider opt-out code, see the reconciler).
    if intent in (Intent.OPT_OUT, Intent.OPT_OUT_ALL):
        return Handled(True, "opt_out", patient, intent, reading.language,
                       ConsentUpdate(ALL_CHANNELS, False, intent.value), alert=alert,
                       confirm=_confirmation(patient, facts, opted_in=False))
    if intent is Intent.OPT_IN:
        return Handled(True, "opt_in", patient, intent, reading.language,
                       ConsentUpdate(ALL_CHANNELS, True, intent.value), alert=alert,
                       confirm=_confirmation(patient, facts, opted_in=True))
    if intent is Intent.HELP:
        return Handled(True, "help", patient, intent, reading.language, reply_help=True, alert=alert)
    if intent in (Intent.CONFIRM, Intent.CANCEL, Intent.RESCHEDULE):
        target = reading.message_id or (question.message_id if question else None)
        if target is None:
            return Handled(True, "answer_without_question", patient, Intent.NONE, alert=alert)
        if question is not None and question.message_id == target:
            patient = replace(patient, question=None)
        return Handled(True, intent.value, patient, intent, reading.language, answer=(intent.value, target),
                       alert=alert, question=question)
    if question is not None and intent is Intent.NONE:
        # free text with a question open: the fuller reading of streams.care.replies ("sí, confirmo",
        # REPROGRAMAR, ...); a reply it cannot read gets one clarification, the next goes to staff
        reply = replies.parse(facts.folded, None, question_open=True)
        if reply.answer in (replies.Answer.CONFIRM, replies.Answer.CANCEL, replies.Answer.RESCHEDULE):
            patient = replace(patient, question=None)
            return Handled(True, reply.answer.value, patient, Intent.NONE, reply.language,
                           answer=(reply.answer.value, question.message_id), alert=alert, question=question)
        if reply.answer is replies.Answer.UNCLEAR:
            if not question.clarified:
                patient = replace(patient, question=replace(question, clarified=True))
                return Handled(True, "unclear_clarify", patient, Intent.NONE, alert=alert, clarify=True,
                               question=question)
            return Handled(True, "unclear_attention", patient, Intent.NONE, alert=alert,
                           attention="unclear_reply", question=question, to_ai=_for_ai(patient, facts, now))
    if patient.loop.paused(now):
        return Handled(True, "free_text_paused", patient, Intent.NONE, alert=alert)
    return Handled(True, "free_text", patient, Intent.NONE, alert=alert, question=question,
                   to_ai=_for_ai(patient, facts, now))


def _inbound_ids(patient: Patient, now: int) -> tuple[SeenId, ...]:
    """The ids of the dedup window; a record of the previous release (its last 32 ids, no times)
    counts its ids as seen now, so they are kept for a whole window."""
    if not patient.inbound_seen:
        return patient.inbound_ids
    known = {s.event_id for s in patient.inbound_ids}
    return (*patient.inbound_ids, *(SeenId(i, now) for i in patient.inbound_seen if i not in known))


def _confirmation(patient: Patient, facts: InboundFacts, *, opted_in: bool) -> str | None:
    """The patient is told once per change, where the keyword came in: nothing when it changes
    nothing (a second STOP), on a call (a keypad is not a conversation), or when the carrier already
    answered it (a provider's own opt-out handling of its keywords)."""
    if not changes(patient.consent, opted_in) or facts.channel == "VOICE":
        return None
    if facts.folded in facts.carrier_keywords:
        return None
    return OPT_IN_CONFIRMATION if opted_in else OPT_OUT_CONFIRMATION


def _for_ai(patient: Patient, facts: InboundFacts, now: int) -> bool:
    """Words to answer (not an empty message or a bare button), in a conversation the loop guard has
    not paused: a paused one was handed to staff, and an agent answering a bot would feed the loop."""
    return bool(facts.folded) and not patient.loop.paused(now)


def cancellable(msg: Message | None, consent: Consent) -> bool:
    """After an opt-out (`consent` already updated), a pending message is cancelled when it is not
    urgent, not final, not yet handed to a provider, and none of its channels is consented any more.
    A message with a channel left goes on there; urgent ones go on wherever consent allows."""
    if msg is None or msg.urgent or msg.is_final:
        return False
    if any(h.ledger in (Ledger.IN_FLIGHT, Ledger.ACCEPTED) for h in msg.hops):
        return False
    return not allowed_channels(consent, msg.channels)
