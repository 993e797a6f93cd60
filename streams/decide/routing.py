"""Routing and fallback: which channel and sender instance carries the next hop, and why.

Candidates are the request's channels in its order, minus those the patient opted out of and those
already tried. Within a channel, the configured instance order is the preference, skipping
instances whose circuit is open. WhatsApp outside the 24 h customer-service window takes only a
template; free text without a template form moves on to the next channel. A template whose WhatsApp
form Meta has not approved (pending, rejected, never submitted) is not sent on WhatsApp at all, inside
the window either: the message falls to the next channel with reason `template_not_approved`
(whatsapp_template_gate). One hop at a time: a
next hop is only chosen after the current one definitely failed or timed out.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from streams.decide.consent import Consent

WHATSAPP_WINDOW_MS = 24 * 3600 * 1000


@dataclass(frozen=True)
class Instance:
    """What routing needs of a connectors.base.ChannelInstance."""

    id: str
    channel: str
    provider: str


@dataclass(frozen=True)
class Content:
    template: str | None
    has_text: bool
    whatsapp_template: bool  # the template has a WhatsApp form in this language
    whatsapp_status: str = "APPROVED"  # Meta's review of that form (schemas.templates.Rendering)


@dataclass(frozen=True)
class Route:
    channel: str
    instance: Instance
    use_template: bool
    reason: str


@dataclass(frozen=True)
class NoRoute:
    reason: str                        # no_consented_channel, no_channel_left, circuit_open, ...
    retry_at_ms: int | None = None     # circuits open: when the first one lets a trial through
    skipped: tuple[tuple[str, str], ...] = ()  # (channel, why) for the record


def whatsapp_template_gate(template: str | None, whatsapp_status: str) -> str | None:
    """Why a message may not go on WhatsApp because of its template, or None: only a template Meta
    approved is sent there (UNKNOWN: no WhatsApp form in this language, which the window rule decides)."""
    if template is None or whatsapp_status in ("APPROVED", "UNKNOWN"):
        return None
    return "template_not_approved"


def window_open(last_inbound_ms: int | None, now_ms: int, window_ms: int = WHATSAPP_WINDOW_MS) -> bool:
    return last_inbound_ms is not None and now_ms - last_inbound_ms < window_ms


def choose(
    channels: Sequence[str],
    consent: Consent,
    instances: Callable[[str], Sequence[Instance]],
    is_open: Callable[[str], bool],
    reopens_at: Callable[[str], int],
    last_inbound: Mapping[str, int],
    content: Content,
    now_ms: int,
    *,
    tried: frozenset[str] = frozenset(),
    reason: str = "first_choice",
    window_ms: int = WHATSAPP_WINDOW_MS,
) -> Route | NoRoute:
    """The first usable (channel, instance) after `tried` channels; `last_inbound` is the patient's
    last inbound time per WhatsApp instance id, `is_open`/`reopens_at` the circuit view."""
    skipped: list[tuple[str, str]] = []
    reopen_times: list[int] = []
    consented_any = False
    for channel in channels:
        if channel in tried:
            continue
        if not consent.allows(channel):
            skipped.append((channel, "no_consent"))
            continue
        consented_any = True
        gate = whatsapp_template_gate(content.template, content.whatsapp_status) if channel == "WHATSAPP" else None
        if gate is not None:
            skipped.append((channel, gate))
            continue
        route_reason = _skip_reason(reason, skipped[-1][1]) if skipped else reason
        why = "no_instance"
        for inst in instances(channel):
            if is_open(inst.id):
                reopen_times.append(reopens_at(inst.id))
                why = "circuit_open"
            elif channel != "WHATSAPP" or window_open(last_inbound.get(inst.id), now_ms, window_ms):
                return Route(channel, inst, False, route_reason)  # WhatsApp: free form inside the window
            elif content.template is not None and content.whatsapp_template:
                return Route(channel, inst, True, route_reason)
            else:
                why = "whatsapp_window_closed"
        skipped.append((channel, why))
    if reopen_times:
        return NoRoute("circuit_open", min(reopen_times), tuple(skipped))
    if not consented_any and not tried:
        return NoRoute("no_consented_channel", None, tuple(skipped))
    return NoRoute("no_channel_left", None, tuple(skipped))


def _skip_reason(reason: str, why: str) -> str:
    # the first choice was skipped: say why this channel carries the message instead
    if reason != "first_choice":
        return reason
    return {"circuit_open": "fallback_circuit_open", "whatsapp_window_closed": "fallback_window_closed",
            "no_instance": "fallback_no_instance", "template_not_approved": "template_not_approved"}.get(why, reason)
