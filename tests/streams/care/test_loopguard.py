import pytest

from streams.care.keywords import fold
from streams.care.loopguard import (
    LoopConfig,
    LoopState,
    SentText,
    allow_automated,
    is_echo,
    on_inbound,
    resume,
    template_pattern,
)

CFG = LoopConfig(cap=5, window_ms=600_000, echo_ms=2_000, bot_reply_ms=10_000, ping_pong=3, pause_ms=3_600_000)


def test_automated_replies_are_capped_per_window_and_the_cap_pauses_with_an_alert() -> None:
    s = LoopState()
    for i in range(5):
        v, s = allow_automated(s, i * 60_000, CFG)
        assert v.allowed
    v, s = allow_automated(s, 300_001, CFG)
    assert (v.allowed, v.reason, v.alert) == (False, "loop_cap", True)
    assert s.paused(300_002)
    v, _ = allow_automated(s, 300_003, CFG)
    assert (v.allowed, v.reason, v.alert) == (False, "conversation_paused", False)


def test_the_window_slides() -> None:
    s = LoopState()
    for i in range(5):
        _, s = allow_automated(s, i, CFG)
    v, _ = allow_automated(s, 600_004, CFG)  # the first four left the window
    assert v.allowed


def test_quick_replies_to_automated_sends_are_a_ping_pong() -> None:
    s = LoopState()
    alerts = []
    t = 0
    for _ in range(3):
        _, s = allow_automated(s, t, CFG)
        alert, s = on_inbound(s, t + 1500, CFG)
        alerts.append(alert)
        t += 20_000
    assert alerts == [False, False, True]
    assert s.paused(t)


def test_slow_human_replies_are_not_a_ping_pong() -> None:
    s = LoopState()
    for t in (0, 100_000, 200_000):
        _, s = allow_automated(s, t, CFG)
        alert, s = on_inbound(s, t + 60_000, CFG)
        assert not alert
    assert not s.paused(300_000)


def test_echo_of_identical_text_within_two_seconds() -> None:
    sent = (SentText(1000, digest="d1"),)
    assert is_echo(sent, 2500, "ANYTHING", "d1", CFG)
    assert not is_echo(sent, 3500, "ANYTHING", "d1", CFG)
    assert not is_echo(sent, 2500, "ANYTHING", "d2", CFG)


def test_echo_of_our_template_with_any_parameters() -> None:
    pattern = template_pattern("Hola {patient_name}, le recordamos su cita en {clinic} el {date}.")
    sent = (SentText(0, pattern=pattern),)
    assert is_echo(sent, 1000, fold("Hola Maria, le recordamos su cita en Clinica Sur el 3/4."), None, CFG)
    assert not is_echo(sent, 1000, fold("Hola, no puedo ir"), None, CFG)


PAUSED = LoopState(automated=(1_000, 2_000), bot_like=(1_500, 2_500), paused_until_ms=90_000)


@pytest.mark.parametrize(("state", "now", "known", "result", "after"), [
    (PAUSED, 10_000, True, "resumed", LoopState()),
    (PAUSED, 10_000, False, "unknown_conversation", PAUSED),
    (PAUSED, 90_000, True, "not_paused", PAUSED),
    (LoopState(automated=(1_000,)), 10_000, True, "not_paused", LoopState(automated=(1_000,))),
], ids=["paused-resumes-with-fresh-counts", "other-organization-or-unknown-patient", "pause-already-over",
        "never-paused"])
def test_resume(state, now, known, result, after) -> None:
    assert resume(state, now, known=known) == (result, after)


def test_a_resumed_conversation_takes_automated_replies_again() -> None:
    _, s = resume(PAUSED, 10_000, known=True)
    v, _ = allow_automated(s, 10_001, CFG)
    assert v.allowed
