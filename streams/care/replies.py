"""A patient's reply read in the context of the latest open question (an appointment reminder).

The CANCEL / CANCELAR rule (and, with it, every word two readings could claim):

1. No open question for the patient -> `NONE`: this module claims nothing and the keyword rules of
   `streams.care.keywords` apply, so a bare CANCELAR / CANCEL is an opt-out there, YES an opt-in.
2. An open question and a word that is a keyword in its own right even then (STOP, BAJA, PARAR,
   ALTO, NO MAS, SAIR, STOPALL, HELP, AYUDA, AJUDA, START, ALTA, ...) -> `NONE` as well: the keyword
   rules win, so STOP always stops, whatever question is open.
3. An open question and CANCELAR / CANCEL / 2 / NO / NAO -> `CANCEL` of that appointment, never an
   opt-out: the patient is answering us. The cancellation confirmation we send says how to stop
   messages, so a patient who meant "stop" is one word away.

A button payload names the question it answers (`confirm:<message_id>`), so it counts even after the
question was replaced by a newer one; free text always answers the latest open question.
Whole-message matching, as for keywords: every word of the reply must belong to the same answer
("sí, confirmo" confirms; "no, sí" is unclear; "si puedo ir pero tarde" is unclear).
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from streams.care import keywords
from streams.care.keywords import fold


class Answer(StrEnum):
    CONFIRM = "confirm"
    CANCEL = "cancel"
    RESCHEDULE = "reschedule"
    UNCLEAR = "unclear"  # a question is open but the reply does not answer it
    NONE = "none"        # not ours: no question open, or a keyword (STOP, HELP...) that must act as such


@dataclass(frozen=True)
class Reply:
    answer: Answer
    message_id: str | None = None  # the question a button payload answers
    language: str | None = None    # the language the word tells, for the acknowledgement


# folded word -> language ("" when the word does not tell)
CONFIRM_WORDS: dict[str, str] = {
    "1": "", "SI": "es", "CONFIRMO": "es", "CONFIRMAR": "es", "CONFIRMADO": "es", "YES": "en", "Y": "en",
    "CONFIRM": "en", "CONFIRMED": "en", "SIM": "pt", "CONFIRMA": "pt",
}
CANCEL_WORDS: dict[str, str] = {
    "2": "", "NO": "es", "CANCELAR": "es", "CANCELO": "es", "CANCEL": "en", "N": "en", "NAO": "pt",
    "CANCELA": "pt",
}
RESCHEDULE_WORDS: dict[str, str] = {
    "REPROGRAMAR": "es", "CAMBIAR": "es", "RESCHEDULE": "en", "REMARCAR": "pt",
}
_PAYLOADS = {"confirm": Answer.CONFIRM, "cancel": Answer.CANCEL, "reschedule": Answer.RESCHEDULE}
_TABLES = ((Answer.CONFIRM, CONFIRM_WORDS), (Answer.CANCEL, CANCEL_WORDS), (Answer.RESCHEDULE, RESCHEDULE_WORDS))
# keyword intents that keep their meaning with a question open (rule 2)
_KEYWORD_WINS = frozenset({keywords.Intent.OPT_OUT, keywords.Intent.OPT_OUT_ALL, keywords.Intent.OPT_IN,
                           keywords.Intent.HELP})


def parse(text: str | None, payload: str | None = None, *, question_open: bool) -> Reply:
    if payload:
        action, _, message_id = payload.partition(":")
        answer = _PAYLOADS.get(action)
        if answer is not None:
            return Reply(answer, message_id or None)
    if not question_open:
        return Reply(Answer.NONE)
    folded = fold(text or "")
    if not folded:
        return Reply(Answer.UNCLEAR)
    if folded not in CANCEL_WORDS and keywords.read(folded, question_open=True).intent in _KEYWORD_WINS:
        return Reply(Answer.NONE)
    words = folded.split()
    for answer, table in _TABLES:
        if all(w in table for w in words):
            language = next((table[w] for w in words if table[w]), None)
            return Reply(answer, None, language)
    return Reply(Answer.UNCLEAR)
