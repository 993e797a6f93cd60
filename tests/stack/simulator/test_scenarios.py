"""Scenario decisions (pure): rules, sync vs async failures, outages, callback behaviours."""
from __future__ import annotations

import random

import pytest

from stack.simulator.scenarios import Accepted, SyncError, decide, parse_scenario

RNG = random.Random(0)


def statuses(outcome: SyncError | Accepted) -> list[tuple[str, int | None]]:
    assert isinstance(outcome, Accepted)
    return [(s.status, s.code) for s in outcome.steps]


def test_happy_paths_per_channel() -> None:
    sc = parse_scenario({}, 0)
    assert statuses(decide(sc, "twilio", "SMS", "+15551230000", 0, RNG)) == [("sent", None), ("delivered", None)]
    assert [s for s, _ in statuses(decide(sc, "meta", "WHATSAPP", "+15551230000", 0, RNG))] == [
        "sent", "delivered", "read"]
    assert statuses(decide(sc, "twilio", "VOICE", "+15551230000", 0, RNG)) == [("completed", None)]


@pytest.mark.parametrize(
    ("provider", "channel", "code", "expected"),
    [
        ("twilio", "SMS", 21610, SyncError(400, 21610, "Attempt to send to unsubscribed recipient")),
        ("twilio", "SMS", 20429, SyncError(429, 20429, "Too Many Requests")),
        ("meta", "WHATSAPP", 190, SyncError(401, 190, "Invalid OAuth access token")),
        ("d360", "WHATSAPP", 130429, SyncError(400, 130429, "Rate limit hit")),
    ],
)
def test_request_time_errors(provider: str, channel: str, code: int, expected: SyncError) -> None:
    sc = parse_scenario({"rules": [{"to": "0006$", "code": code}]}, 0)
    assert decide(sc, provider, channel, "+15551230006", 0, RNG) == expected
    assert isinstance(decide(sc, provider, channel, "+15551230007", 0, RNG), Accepted)


def test_delivery_time_errors_come_as_callbacks() -> None:
    sc = parse_scenario({"rules": [{"channel": "SMS", "to": "0006$", "code": 30006},
                                   {"provider": "twilio", "channel": "WHATSAPP", "code": 63016},
                                   {"provider": "meta", "code": 131047}]}, 0)
    assert statuses(decide(sc, "twilio", "SMS", "+15551230006", 0, RNG)) == [("sent", None), ("undelivered", 30006)]
    assert statuses(decide(sc, "twilio", "WHATSAPP", "+15551230001", 0, RNG)) == [("failed", 63016)]
    assert statuses(decide(sc, "meta", "WHATSAPP", "+15551230001", 0, RNG)) == [("failed", 131047)]


def test_stage_override() -> None:
    sc = parse_scenario({"rules": [{"code": 131026, "stage": "sync", "http_status": 500}]}, 0)
    assert decide(sc, "meta", "WHATSAPP", "+15551230001", 0, RNG) == SyncError(500, 131026, "Message undeliverable")


def test_outage_window_applies_to_one_provider_only() -> None:
    sc = parse_scenario({"outage": {"provider": "meta", "seconds": 30}}, now=100.0)
    assert decide(sc, "meta", "WHATSAPP", "+15551230001", 110.0, RNG) == SyncError(500, 131026, "Message undeliverable")
    assert isinstance(decide(sc, "d360", "WHATSAPP", "+15551230001", 110.0, RNG), SyncError)
    assert isinstance(decide(sc, "twilio", "WHATSAPP", "+15551230001", 110.0, RNG), Accepted)
    assert isinstance(decide(sc, "meta", "WHATSAPP", "+15551230001", 131.0, RNG), Accepted)


def test_failure_rate_is_seeded() -> None:
    sc = parse_scenario({"failure_rate": 0.5, "seed": 42}, 0)
    runs = [[isinstance(decide(sc, "twilio", "SMS", "+15551230001", 0, rng), SyncError) for _ in range(20)]
            for rng in (sc.rng(), sc.rng())]
    assert runs[0] == runs[1] and 0 < sum(runs[0]) < 20


def test_callback_behaviours() -> None:
    def run(**cb: object) -> list[tuple[str, int | None]]:
        sc = parse_scenario({"callbacks": cb}, 0)
        return statuses(decide(sc, "meta", "WHATSAPP", "+15551230001", 0, RNG))

    assert [s for s, _ in run(out_of_order=True)] == ["read", "delivered", "sent"]
    assert [s for s, _ in run(duplicate=True)] == ["sent", "sent", "delivered", "delivered", "read", "read"]
    assert [s for s, _ in run(read_without_delivered=True)] == ["sent", "read"]
    assert [(s.status, s.notify) for s in decide(parse_scenario({"callbacks": {"drop": True}}, 0), "meta",
                                                   "WHATSAPP", "+15551230001", 0, RNG).steps] == [  # type: ignore[union-attr]
        ("sent", False), ("delivered", False), ("read", False)]
    assert [s for s, _ in run(read=False)] == ["sent", "delivered"]


def test_voice_rules_and_presets() -> None:
    sc = parse_scenario({"preset": "demo"}, 0)
    no_answer = decide(sc, "twilio", "VOICE", "+15551230486", 0, RNG)
    assert statuses(no_answer) == [("no-answer", None)] and isinstance(no_answer, Accepted) and not no_answer.digits
    pressed = decide(sc, "twilio", "VOICE", "+15551230002", 0, RNG)
    assert isinstance(pressed, Accepted) and pressed.digits == "2"
    assert statuses(decide(sc, "twilio", "SMS", "+15551230006", 0, RNG))[-1] == ("undelivered", 30006)


@pytest.mark.parametrize("raw", [{"nope": 1}, {"preset": "nope"}, {"failure_rate": 2},
                                 {"rules": [{"to": "("}]}, {"rules": [{"colour": "red"}]}])
def test_bad_scenarios_are_rejected(raw: dict[str, object]) -> None:
    with pytest.raises((ValueError, TypeError)):
        parse_scenario(raw, 0)
