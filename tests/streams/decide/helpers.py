"""Builders shared by the decision tests: a small world of channel instances and requests."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from streams.decide.consent import Consent
from streams.decide.dispatch import accepted, mark_in_flight
from streams.decide.intake import Request
from streams.decide.intake import decide as intake
from streams.decide.ratelimit import Limit
from streams.decide.records import Message, Patient
from streams.decide.routing import Instance, NoRoute, Route
from streams.decide.world import Policy, World

ORG = "clinic"
WA_META = Instance("wa-meta", "WHATSAPP", "meta")
WA_TWILIO = Instance("wa-twilio", "WHATSAPP", "twilio")
SMS = Instance("sms-twilio", "SMS", "twilio")
VOICE = Instance("voice-twilio", "VOICE", "twilio")
INAPP = Instance("inapp", "INAPP", "inapp")
ALL = (WA_META, WA_TWILIO, SMS, VOICE, INAPP)


def instances(org: str, channel: str) -> Sequence[Instance]:
    return [i for i in ALL if i.channel == channel]


def world(now_ms: int = 1_000_000, *, open_ids: frozenset[str] = frozenset(), policy: Policy | None = None,
          **policy_changes: object) -> World:
    pol = policy or Policy()
    if policy_changes:
        pol = replace(pol, **policy_changes)  # type: ignore[arg-type]
    return World(now_ms, pol, instances, lambda i: i in open_ids, lambda i: now_ms + 30_000,
                 lambda _id: Limit(0, 0))


def request(message_id: str = "m1", **changes: object) -> Request:
    base = Request(message_id, ORG, "rid1", f"key-{message_id}", f"fp-{message_id}",
                   ("WHATSAPP", "SMS", "VOICE"), template="appointment_reminder", asks="confirm_cancel")
    return replace(base, **changes)  # type: ignore[arg-type]


def consent_of(opted_out: Iterable[str], at_ms: int = 1) -> Consent:
    """A patient who opted out of these channels (ALL_CHANNELS: every one) by keyword at `at_ms`."""
    consent = Consent()
    for channel in opted_out:
        consent = consent.apply(channel, False, at_ms, "keyword")
    return consent


def sent_message(now_ms: int = 1_000_000, *, status: str = "sent", provider_id: str = "wamid-1",
                 **changes: object) -> Message:
    """A request through intake, its hop 0 taken by the provider (`status`: the send result) 10 ms later."""
    d = intake(Patient(), None, request(**changes), world(now_ms), {})
    assert d.message is not None
    msg = mark_in_flight(d.message, d.message.hops[0], now_ms)
    msg, _ = accepted(msg, msg.hops[0], provider_id, status, now_ms + 10)
    return msg


def plain_route(found: Route | NoRoute) -> tuple[object, ...]:
    """A routing decision as plain data: ("route", channel, instance id, use_template, reason) or
    ("no_route", reason, retry_at_ms, skipped)."""
    if isinstance(found, Route):
        return ("route", found.channel, found.instance.id, found.use_template, found.reason)
    return ("no_route", found.reason, found.retry_at_ms, found.skipped)
