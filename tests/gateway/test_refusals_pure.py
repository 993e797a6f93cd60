"""The per-source refusal budget (fixed windows per address, bounded memory) and the refusal log's
burst budget; time passed in."""
from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
from types import SimpleNamespace
from typing import Any

import pytest

from gateway import audit
from gateway.audit import ANONYMOUS, Actor
from gateway.metrics import GatewayMetrics
from gateway.refusals import LogBudget, Refusals, SourceLimiter


def charges(limiter: SourceLimiter, source: str, times: list[float]) -> list[float | None]:
    return [limiter.charge(source, t) for t in times]


@pytest.mark.parametrize(("per_window", "times", "expected"), [
    (3, [0, 1, 2], [None, None, None]),
    (3, [0, 1, 2, 3], [None, None, None, 57.0]),
    (3, [0, 1, 2, 3, 59.5], [None, None, None, 57.0, 0.5]),
    (3, [0, 1, 2, 3, 60], [None, None, None, 57.0, None]),  # a new window from its first refusal
    (1, [0, 10, 70, 71], [None, 50.0, None, 59.0]),
    (0, [0, 0, 0, 0], [None, None, None, None]),  # 0: no limit
], ids=["within-budget", "over-budget", "still-over-at-the-end", "next-window", "window-starts-at-first-refusal",
        "disabled"])
def test_budget_per_window(per_window, times, expected):
    assert charges(SourceLimiter(per_window, window_s=60), "198.51.100.1", times) == expected


def test_sources_are_counted_apart():
    limiter = SourceLimiter(2, window_s=60)
    assert charges(limiter, "a", [0, 0, 0]) == [None, None, 60.0]
    assert charges(limiter, "b", [1, 1]) == [None, None]
    assert limiter.charge("a", 1) == 59.0


def test_memory_is_bounded_and_expired_windows_leave_first():
    limiter = SourceLimiter(1, window_s=60, max_sources=3)
    for n, source in enumerate("abc"):
        limiter.charge(source, n)
    assert len(limiter) == 3
    limiter.charge("d", 3)  # full: the oldest window (a) is forgotten
    assert len(limiter) == 3 and limiter.charge("a", 4) is None
    limiter.charge("e", 100)  # every window but the new one has expired
    assert len(limiter) == 1


KIND = ("/v1/messages", "unauthenticated", "anonymous")
OTHER_KIND = ("/webhooks/twilio/status", "bad_signature", "twilio")


@pytest.mark.parametrize(("events", "admitted", "held"), [
    ([(KIND, 0)] * 3, [True] * 3, {}),
    ([(KIND, 0)] * 7, [True] * 5 + [False] * 2, {KIND: 2}),
    ([(KIND, 0)] * 6 + [(KIND, 10)], [True] * 5 + [False, True], {KIND: 1}),  # a new window logs again
    ([(KIND, 0)] * 6 + [(OTHER_KIND, 1)], [True] * 5 + [False, True], {KIND: 1}),  # each kind has its burst
], ids=["under-the-burst", "over-the-burst", "next-window", "another-kind"])
def test_log_budget_per_kind(events, admitted, held):
    budget = LogBudget(burst=5, lines=20, window_s=10)
    assert [budget.admit(kind, t) for kind, t in events] == admitted
    assert budget.take() == held and budget.take() == {}


def test_log_budget_caps_lines_across_kinds():
    budget = LogBudget(burst=5, lines=8, window_s=10)
    kinds = [(f"/route/{n}", "unauthenticated", "anonymous") for n in range(4)]
    assert sum(budget.admit(kind, 1) for kind in kinds for _ in range(5)) == 8
    assert sum(budget.take().values()) == 12


class _Auditor:
    def __init__(self) -> None:
        self.tallied: list[tuple[Any, ...]] = []

    def tally(self, actor: Actor, action: str, **kw: Any) -> None:
        self.tallied.append((actor.name, action, kw["reason"], kw["limited"]))


def test_refusals_are_logged_at_info_without_the_request_and_a_flood_in_a_few_lines(caplog):
    clock = [0.0]
    auditor = _Auditor()
    refusals = Refusals(auditor, SourceLimiter(3), GatewayMetrics(), clock=lambda: clock[0],  # type: ignore[arg-type]
                        budget=LogBudget(burst=2, lines=20, window_s=10))

    async def flood() -> None:
        for _ in range(50):
            refusals.record(ANONYMOUS, "message.send", "unauthenticated", resource="/v1/messages",
                            remote_addr="203.0.113.7")
        refusals.record(Actor("twilio", "provider"), "webhook.twilio.status", "bad_signature",
                        resource="/webhooks/twilio/status", remote_addr="198.51.100.1")
        refusals.flush_log()

    with caplog.at_level(logging.INFO, logger="gateway"):
        asyncio.run(flood())
    lines = [r.getMessage() for r in caplog.records if r.name == "gateway.refusals"]
    assert all(r.levelno == logging.INFO for r in caplog.records if r.name == "gateway.refusals")
    assert lines == [
        "refused /v1/messages: unauthenticated (anonymous, from 203.0.113.7)",
        "refused /v1/messages: unauthenticated (anonymous, from 203.0.113.7)",
        "refused /webhooks/twilio/status: bad_signature (twilio, from 198.51.100.1)",
        "refused /v1/messages: unauthenticated (anonymous) 48 more times in the last 10 s, not logged one by one",
    ]
    assert len(auditor.tallied) == 51 and sum(t[3] for t in auditor.tallied) == 47  # 3 per minute, then 429s


def test_the_gateway_logs_info_under_uvicorn_which_configures_only_its_own_loggers():
    """`make run` starts uvicorn with --log-level warning: the gateway's INFO lines still reach its log."""
    code = ("import logging, logging.config\n"
            "from uvicorn.config import LOGGING_CONFIG\n"
            "logging.config.dictConfig(LOGGING_CONFIG)\n"
            "from gateway.app import configure_logging\n"
            "configure_logging('INFO')\n"
            "logging.getLogger('gateway.refusals').info('refused /v1/messages: unauthenticated')\n"
            "logging.getLogger('gateway.refusals').debug('not at INFO')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert "INFO gateway.refusals: refused /v1/messages: unauthenticated" in done.stderr
    assert "not at INFO" not in done.stderr


class _Publisher:
    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def submit(self, topic: str, key: Any, value: dict[str, Any]) -> asyncio.Future[None]:
        self.records.append(value)
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        fut.set_result(None)
        return fut


def test_refusals_are_audited_per_window_and_a_flood_from_many_addresses_stays_bounded(monkeypatch):
    monkeypatch.setattr(audit, "MAX_TALLY_KEYS", 3)
    background = _Publisher()
    topic = SimpleNamespace(name="audit", codec=SimpleNamespace(encode=lambda record: record))
    auditor = audit.Auditor(_Publisher(), topic, background=background)  # type: ignore[arg-type]

    async def flood() -> None:
        for n in range(10):
            auditor.tally(ANONYMOUS, "message.send", outcome=audit.DENIED, reason="unauthenticated",
                          resource="/v1/messages", remote_addr=f"203.0.113.{n % 5}", limited=n >= 8)
        auditor.flush_tally()

    asyncio.run(flood())
    rows = sorted((r["remote_addr"] or "", r["details"]["requests"], r["details"].get("rate_limited"))
                  for r in background.records)
    # three addresses kept (two requests each), the other two folded into one record without an address
    assert rows == [("", "4", "2"), ("203.0.113.0", "2", None), ("203.0.113.1", "2", None),
                    ("203.0.113.2", "2", None)]
    assert {r["outcome"] for r in background.records} == {"denied"} and "items" not in background.records[0]["details"]
