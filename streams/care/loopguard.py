"""The loop guard: caps automated replies per conversation, pauses bot ping-pong, spots echoes.

A conversation is one patient of one organization (the recipient pseudonym). Automated sends (our
HELP answers, AI or workflow replies flagged automated_reply) are counted in a sliding window;
at the cap the conversation is paused and staff alerted. An inbound message that follows an
automated send within seconds looks like a bot: several of those in the window also pause. An
inbound message within ~2 s of our send, with the text we sent (or our template's text), is our
own message coming back (an echoing number or a misrouted webhook) and is not patient input.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

from streams.care.keywords import fold

_PLACEHOLDER = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}")


@dataclass(frozen=True)
class LoopConfig:
    cap: int = 5
    window_ms: int = 600_000
    echo_ms: int = 2_000
    bot_reply_ms: int = 10_000  # an inbound this soon after an automated send looks machine-made
    ping_pong: int = 3          # that many machine-made replies within the window pause the conversation
    pause_ms: int = 86_400_000


@dataclass(frozen=True)
class LoopState:
    automated: tuple[int, ...] = ()  # automated sends within the window
    bot_like: tuple[int, ...] = ()   # inbound messages that answered an automated send within seconds
    paused_until_ms: int = 0

    def paused(self, now_ms: int) -> bool:
        return now_ms < self.paused_until_ms


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reason: str | None = None  # loop_cap, conversation_paused
    alert: bool = False        # the conversation has just been paused: tell staff


def allow_automated(s: LoopState, now_ms: int, cfg: LoopConfig) -> tuple[Verdict, LoopState]:
    """May the system send one more automated message in this conversation? Counts it when yes."""
    if s.paused(now_ms):
        return Verdict(False, "conversation_paused"), s
    recent = tuple(t for t in s.automated if now_ms - t < cfg.window_ms)
    if cfg.cap and len(recent) >= cfg.cap:
        return Verdict(False, "loop_cap", alert=True), LoopState(recent, s.bot_like, now_ms + cfg.pause_ms)
    return Verdict(True), replace(s, automated=(*recent, now_ms))


def note_automated(s: LoopState, now_ms: int, cfg: LoopConfig) -> tuple[Verdict, LoopState]:
    """A consent confirmation: outside the cap (the patient must hear that STOP worked), yet counted,
    so a machine answering it within seconds still looks like one; a paused conversation gets nothing."""
    if s.paused(now_ms):
        return Verdict(False, "conversation_paused"), s
    recent = tuple(t for t in s.automated if now_ms - t < cfg.window_ms)
    return Verdict(True), replace(s, automated=(*recent, now_ms))


def on_inbound(s: LoopState, now_ms: int, cfg: LoopConfig) -> tuple[bool, LoopState]:
    """Note a patient message; (alert, state): True when it makes the exchange a ping-pong."""
    if not any(0 <= now_ms - t <= cfg.bot_reply_ms for t in s.automated):
        return False, s
    bot_like = (*(t for t in s.bot_like if now_ms - t < cfg.window_ms), now_ms)
    if len(bot_like) >= cfg.ping_pong and not s.paused(now_ms):
        return True, LoopState(s.automated, bot_like, now_ms + cfg.pause_ms)
    return False, replace(s, bot_like=bot_like)


def resume(s: LoopState, now_ms: int, *, known: bool) -> tuple[str, LoopState]:
    """Staff hand a paused conversation back to the automation (`POST .../{recipient_id}:resume`).

    The pause ends and the counts start afresh: left in place, the replies that caused the pause
    would pause it again at the next automated send. `known`: the command's organization is the
    patient's (a key of another organization, or a patient never seen, changes nothing)."""
    if not known:
        return "unknown_conversation", s
    if not s.paused(now_ms):
        return "not_paused", s
    return "resumed", LoopState()


@dataclass(frozen=True)
class SentText:
    """What we sent a patient, remembered for a few seconds to recognise it coming back."""

    at_ms: int
    digest: str | None = None   # keyed hash of the folded free text
    pattern: str | None = None  # template text with its parameters as wildcards (template_pattern)


def template_pattern(text_format: str) -> str:
    """A regex over folded text matching any rendering of a catalog text ("Hola {patient_name}, ...")."""
    parts = [fold(p) for p in _PLACEHOLDER.split(text_format)]
    return ".*".join(re.escape(p) for p in parts)


def is_echo(sent: Iterable[SentText], now_ms: int, folded: str, digest: str | None, cfg: LoopConfig) -> bool:
    for s in sent:
        if not 0 <= now_ms - s.at_ms <= cfg.echo_ms:
            continue
        if digest is not None and s.digest == digest:
            return True
        if s.pattern and folded and re.fullmatch(s.pattern, folded):
            return True
    return False
