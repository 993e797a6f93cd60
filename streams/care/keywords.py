"""Patient reply keywords (opt-out, opt-in, help, appointment answers) in es, en and pt.

Matching is whole-message: after folding accents, case, punctuation and spacing, the message must
equal a keyword ("STOP" and "¡Baja!" match, "please stop texting" does not), as carriers do.

CANCEL / CANCELAR rule: when the patient has an open confirm/cancel question (an appointment
reminder awaiting an answer), CANCEL and CANCELAR answer it (cancel the appointment). Otherwise they
are opt-outs. A provider may treat a bare CANCEL on SMS as an opt-out at carrier level whatever we
decide (its Capabilities.carrier_keywords): later SMS to that number fail with one of its opt-out
codes, which the dispatcher records as a provider-sourced opt-out. Prefer buttons or "2" for the
cancel answer.
YES opts in only when no question is open; with one open it confirms.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum


class Intent(StrEnum):
    OPT_OUT = "opt_out"          # STOP, BAJA, ...: every channel too (streams.decide.inbound says why)
    OPT_OUT_ALL = "opt_out_all"  # STOPALL: every channel
    OPT_IN = "opt_in"
    HELP = "help"
    CONFIRM = "confirm"          # answers an open confirm/cancel question
    CANCEL = "cancel"            # cancels the appointment the open question is about
    RESCHEDULE = "reschedule"    # a button (the patient page's) asking to move the appointment it names
    NONE = "none"                # free text: for staff, no automatic action


@dataclass(frozen=True)
class Reading:
    intent: Intent
    language: str | None  # the keyword's language when it tells (AYUDA -> es), for the reply
    message_id: str | None = None  # a button payload names the message it answers


# folded keyword -> (intent, language); "" language: the word is shared or English-only
_OPT_OUT: dict[str, str] = {
    "STOP": "en", "UNSUBSCRIBE": "en", "END": "en", "QUIT": "en",
    "BAJA": "es", "ALTO": "es", "NO MAS": "es",
    "SAIR": "pt", "PARAR": "es",  # PARAR is Spanish and Portuguese
}
_OPT_OUT_ALL: dict[str, str] = {"STOPALL": "en", "STOP ALL": "en"}
_OPT_IN: dict[str, str] = {"START": "en", "UNSTOP": "en", "ALTA": "es", "VOLTAR": "pt"}
_HELP: dict[str, str] = {"HELP": "en", "INFO": "", "AYUDA": "es", "AJUDA": "pt"}
# Only meaningful while a question is open.
_CONFIRM: dict[str, str] = {"1": "", "SI": "es", "CONFIRMAR": "es", "CONFIRM": "en", "YES": "en", "SIM": "pt"}
_CANCEL: dict[str, str] = {"2": "", "CANCELAR": "es", "CANCEL": "en"}
# Ambiguous words resolved by whether a question is open (see the module docstring).
_CANCEL_OR_OPT_OUT: frozenset[str] = frozenset({"CANCEL", "CANCELAR"})
_YES = "YES"

_NON_WORD = re.compile(r"[^0-9A-Z]+")


def fold(text: str) -> str:
    """Upper case, accents removed, punctuation and runs of spaces folded to one space, trimmed."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _NON_WORD.sub(" ", bare.upper()).strip()


def read(text: str | None, payload: str | None = None, *, question_open: bool = False) -> Reading:
    """What a patient's reply means. Button payloads ("confirm:<message_id>") win over text."""
    if payload:
        action, _, message_id = payload.partition(":")
        if action in ("confirm", "cancel", "reschedule"):
            return Reading(Intent(action), None, message_id or None)
    if not text:
        return Reading(Intent.NONE, None)
    word = fold(text)
    if word in _CANCEL_OR_OPT_OUT and not question_open:
        return Reading(Intent.OPT_OUT, "es" if word == "CANCELAR" else "en")
    if word == _YES and not question_open:
        return Reading(Intent.OPT_IN, "en")
    if question_open:
        if word in _CONFIRM:
            return Reading(Intent.CONFIRM, _CONFIRM[word] or None)
        if word in _CANCEL:
            return Reading(Intent.CANCEL, _CANCEL[word] or None)
    for table, intent in ((_OPT_OUT_ALL, Intent.OPT_OUT_ALL), (_OPT_OUT, Intent.OPT_OUT),
                          (_OPT_IN, Intent.OPT_IN), (_HELP, Intent.HELP)):
        if word in table:
            return Reading(intent, table[word] or None)
    return Reading(Intent.NONE, None)
