"""Consent per (organization, patient, channel) plus an every-channel entry; the newest change wins.

The recipient pseudonym is already organization-scoped, so one Consent value per recipient_id holds
the whole (organization, recipient, channel) state. No entry means allowed: a clinic sending to its
patient has consent on file; an explicit opt-out (keyword, API, provider) removes it.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

ALL_CHANNELS = "UNKNOWN"  # ConsentChange.channel UNKNOWN means every channel
CHANNELS = ("WHATSAPP", "SMS", "VOICE", "INAPP")
OPT_OUT_CONFIRMATION = "opt_out_confirmation"
OPT_IN_CONFIRMATION = "opt_in_confirmation"


@dataclass(frozen=True)
class ConsentEntry:
    channel: str  # a Channel symbol, or ALL_CHANNELS
    opted_in: bool
    at_ms: int
    source: str  # keyword, api, import, provider


@dataclass(frozen=True)
class Consent:
    entries: tuple[ConsentEntry, ...] = ()

    def entry(self, channel: str) -> ConsentEntry | None:
        return next((e for e in self.entries if e.channel == channel), None)

    def apply(self, channel: str, opted_in: bool, at_ms: int, source: str) -> Consent:
        """Record a change unless a newer one for the same channel is already known (replays are no-ops)."""
        current = self.entry(channel)
        if current is not None and current.at_ms >= at_ms:
            return self
        kept = tuple(e for e in self.entries if e.channel != channel)
        return replace(self, entries=(*kept, ConsentEntry(channel, opted_in, at_ms, source)))

    def stamp(self, now_ms: int) -> int:
        """The time of a change decided now: strictly after every change already known, so two
        keywords read in the same millisecond (STOP, then START) keep the order they came in."""
        newest = max((e.at_ms for e in self.entries), default=0)
        return max(now_ms, newest + 1)

    def allows(self, channel: str) -> bool:
        """The newest of the channel's own entry and the every-channel entry decides."""
        candidates = [e for e in (self.entry(channel), self.entry(ALL_CHANNELS)) if e is not None]
        if not candidates:
            return True
        return max(candidates, key=lambda e: e.at_ms).opted_in


def reach_for(consent: Consent, template: str | None, consent_notice: bool) -> Consent:
    """The consent a message is judged by. The one message an opt-out still lets through is its own
    confirmation (`consent_notice`, written by the inbound agent): the patient is told once that
    nothing more will come. Every other message, an opt-in confirmation included, needs consent."""
    return Consent() if consent_notice and template == OPT_OUT_CONFIRMATION else consent


def changes(consent: Consent, opted_in: bool) -> bool:
    """Whether opting every channel in (or out) changes anything the patient would notice: some channel
    was refused (or allowed) until now. A repeated STOP, or START when nothing was refused, does not."""
    return any(consent.allows(ch) != opted_in for ch in CHANNELS)


def allowed_channels(consent: Consent, requested: Iterable[str]) -> tuple[str, ...]:
    """The requested channels, in request order, that the patient has not opted out of."""
    return tuple(ch for ch in requested if consent.allows(ch))
