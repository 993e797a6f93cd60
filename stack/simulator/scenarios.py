"""Simulator scenarios: what the fake providers do with each send, as pure decisions over plain data.

A scenario is JSON (POST /_sim/scenarios, or --scenario-file / --scenario at start):

    {"latency_ms": 0, "failure_rate": 0.0, "seed": 7,
     "outage": {"provider": "meta", "seconds": 30, "http_status": 500, "code": 131026},
     "callbacks": {"delay_ms": 20, "out_of_order": false, "duplicate": false, "repeat": 0, "drop": false,
                   "read_without_delivered": false, "read": true},
     "voice_digits": "1",
     "rules": [{"provider": "twilio", "channel": "SMS", "to": "0006$", "code": 30006}, ...]}

The first rule whose provider, channel and `to` regex match decides the send. A rule's `code`
fails it synchronously (an HTTP error from the send API) or asynchronously (accepted, then a
failed/undelivered callback), as the real provider does for that code; `stage`/`http_status`
override. Voice rules may set `call_status` (busy, no-answer, failed) and `digits`.
"""
from __future__ import annotations

import random
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

# Codes the real providers return from the send request itself (HTTP status), not in a callback.
TWILIO_SYNC: Mapping[int, int] = {
    21610: 400, 21211: 400, 21614: 400, 21408: 400, 21612: 400, 21604: 400, 21602: 400, 21603: 400,
    20003: 401, 20429: 429, 20500: 500,
}
META_SYNC: Mapping[int, int] = {
    100: 400, 131008: 400, 131009: 400, 132000: 400, 132001: 400, 130429: 400, 131056: 400,
    131048: 400, 368: 400, 190: 401, 131005: 403, 133010: 400, 131000: 500, 1: 500, 2: 503,
}
ERROR_TITLES: Mapping[int, str] = {
    21610: "Attempt to send to unsubscribed recipient", 21211: "Invalid 'To' Phone Number",
    21614: "'To' number is not a valid mobile number", 20429: "Too Many Requests",
    20003: "Authenticate", 20500: "Internal Server Error", 30003: "Unreachable destination handset",
    30005: "Unknown destination handset", 30006: "Landline or unreachable carrier",
    30007: "Message filtered", 30008: "Unknown error",
    63016: "Failed to send freeform message because you are outside the allowed window",
    131047: "Re-engagement message", 131026: "Message undeliverable", 131051: "Unsupported message type",
    130429: "Rate limit hit", 131056: "(Business Account, Consumer Account) pair rate limit hit",
    368: "Temporarily blocked for policies violations", 190: "Invalid OAuth access token",
    131000: "Something went wrong", 100: "Invalid parameter",
}

PRESETS: Mapping[str, Mapping[str, Any]] = {
    "none": {},
    # the demo (`make run`): a few recognisable numbers misbehave the way real ones do
    "demo": {"rules": [
        {"channel": "SMS", "to": "0006$", "code": 30006},                     # landline
        {"provider": "twilio", "to": "0610$", "code": 21610},                  # opted out at Twilio
        {"to": "0211$", "provider": "twilio", "code": 21211},                  # invalid number
        {"provider": "meta", "to": "1026$", "code": 131026},                   # no WhatsApp
        {"provider": "twilio", "channel": "WHATSAPP", "to": "1026$", "code": 63024},
        {"channel": "VOICE", "to": "0486$", "call_status": "no-answer"},
        {"channel": "VOICE", "to": "0002$", "digits": "2"},
    ]},
}


@dataclass(frozen=True)
class Callbacks:
    delay_ms: int = 20  # between consecutive status callbacks of one message
    out_of_order: bool = False  # send the planned statuses in reverse order
    duplicate: bool = False  # send every callback twice
    repeat: int = 0  # send every callback this many extra times (overrides `duplicate`'s one)
    drop: bool = False  # send no callbacks at all
    read_without_delivered: bool = False  # WhatsApp: skip `delivered`, send `read`
    read: bool = True  # WhatsApp: the patient reads the message


@dataclass(frozen=True)
class Rule:
    provider: str | None = None
    channel: str | None = None
    to: str | None = None  # regex, searched in the E.164 number
    code: int | None = None
    http_status: int | None = None
    stage: str | None = None  # "sync" | "async"
    call_status: str | None = None
    digits: str | None = None
    callbacks: Callbacks | None = None

    def matches(self, provider: str, channel: str, to: str) -> bool:
        return ((self.provider is None or self.provider == provider)
                and (self.channel is None or self.channel == channel)
                and (self.to is None or re.search(self.to, to) is not None))


@dataclass(frozen=True)
class Outage:
    provider: str = "meta"
    seconds: float = 0.0
    http_status: int = 500
    code: int = 131026
    started_at: float = 0.0  # monotonic clock, set when the scenario is installed


@dataclass(frozen=True)
class Scenario:
    latency_ms: int = 0
    failure_rate: float = 0.0  # share of sends answered with a transient HTTP 500
    seed: int | None = None
    outage: Outage | None = None
    callbacks: Callbacks = field(default_factory=Callbacks)
    voice_digits: str = "1"  # what the callee presses when asked (empty: no input)
    rules: tuple[Rule, ...] = ()

    def rng(self) -> random.Random:
        return random.Random(self.seed)


def parse_scenario(raw: Mapping[str, Any], now: float) -> Scenario:
    """A Scenario from JSON; `preset` names a base from PRESETS that the other keys extend."""
    base = dict(PRESETS.get(str(raw.get("preset", "none")), {}))
    if "preset" in raw and str(raw["preset"]) not in PRESETS:
        raise ValueError(f"unknown preset {raw['preset']!r}")
    data = {**base, **{k: v for k, v in raw.items() if k != "preset"}}
    known = {"latency_ms", "failure_rate", "seed", "outage", "callbacks", "voice_digits", "rules"}
    unknown = set(data) - known
    if unknown:
        raise ValueError(f"unknown scenario keys: {', '.join(sorted(unknown))}")
    outage = None
    if data.get("outage"):
        outage = replace(Outage(**data["outage"]), started_at=now)
    rate = float(data.get("failure_rate", 0.0))
    if not 0.0 <= rate <= 1.0:
        raise ValueError("failure_rate must be between 0 and 1")
    rules = []
    for r in data.get("rules", ()):
        r = dict(r)
        cb = Callbacks(**r.pop("callbacks")) if r.get("callbacks") else None
        rule = Rule(**r, callbacks=cb)
        if rule.to is not None:
            try:
                re.compile(rule.to)
            except re.error as exc:
                raise ValueError(f"rule 'to' is not a valid regex: {exc}") from None
        rules.append(rule)
    return Scenario(
        latency_ms=int(data.get("latency_ms", 0)), failure_rate=rate, seed=data.get("seed"), outage=outage,
        callbacks=Callbacks(**data.get("callbacks", {})), voice_digits=str(data.get("voice_digits", "1")),
        rules=tuple(rules),
    )


@dataclass(frozen=True)
class SyncError:
    http_status: int
    code: int
    title: str


@dataclass(frozen=True)
class Step:
    delay_s: float
    status: str
    code: int | None = None
    notify: bool = True  # False: the status happens at the provider but its callback is lost


@dataclass(frozen=True)
class Accepted:
    steps: tuple[Step, ...]  # status callbacks to send, in order, each after its delay
    digits: str | None = None  # voice: pressed in answer to a <Gather>


def _sync_status(provider: str, code: int) -> int | None:
    table = TWILIO_SYNC if provider == "twilio" else META_SYNC
    if code in table:
        return table[code]
    if provider == "twilio" and 20000 <= code < 30000:
        return 400
    return None


def happy_path(provider: str, channel: str, cb: Callbacks) -> list[str]:
    if channel == "VOICE":
        return ["completed"]
    statuses = ["sent", "delivered"]
    if channel == "WHATSAPP" and cb.read:
        statuses.append("read")
        if cb.read_without_delivered:
            statuses.remove("delivered")
    return statuses


def failure_path(provider: str, code: int) -> list[tuple[str, int | None]]:
    if provider == "twilio":
        # carrier-side failures are reported after `sent`; WhatsApp (63xxx) ones fail outright
        return [("failed", code)] if code >= 60000 else [("sent", None), ("undelivered", code)]
    return [("failed", code)]


def decide(scenario: Scenario, provider: str, channel: str, to: str, now: float,
           rng: random.Random) -> SyncError | Accepted:
    """What happens to one send request (pure apart from the passed-in RNG)."""
    family = "meta" if provider == "d360" else provider
    o = scenario.outage
    if o is not None and o.provider in (provider, family) and now < o.started_at + o.seconds:
        return SyncError(o.http_status, o.code, ERROR_TITLES.get(o.code, "Service unavailable"))
    if scenario.failure_rate and rng.random() < scenario.failure_rate:
        code = 20500 if family == "twilio" else 2
        return SyncError(500, code, "Service temporarily unavailable")
    rule = next((r for r in scenario.rules if r.matches(provider, channel, to)), None)
    cb = (rule.callbacks if rule and rule.callbacks else None) or scenario.callbacks
    digits: str | None = rule.digits if rule and rule.digits is not None else scenario.voice_digits
    planned: list[tuple[str, int | None]]
    if rule is not None and rule.code is not None:
        sync_status = rule.http_status or _sync_status(family, rule.code)
        if rule.stage == "sync" or (rule.stage != "async" and sync_status is not None):
            return SyncError(sync_status or 400, rule.code, ERROR_TITLES.get(rule.code, "Error"))
        planned = failure_path(family, rule.code)
    elif rule is not None and rule.call_status and channel == "VOICE":
        planned = [(rule.call_status, None)]
        digits = ""
    else:
        planned = [(s, None) for s in happy_path(family, channel, cb)]
    if cb.out_of_order:
        planned.reverse()
    steps: list[Step] = []
    for status, step_code in planned:
        steps.append(Step(cb.delay_ms / 1000, status, step_code, notify=not cb.drop))
        if not cb.drop:
            extra = cb.repeat or (1 if cb.duplicate else 0)
            steps.extend(Step(0.0, status, step_code) for _ in range(extra))
    return Accepted(tuple(steps), digits or None)
