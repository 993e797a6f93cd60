"""Loop-guard decisions as tables: a conversation's state as plain data, the verdict and the state after."""
import pytest

from streams.care.keywords import fold
from streams.care.loopguard import (
    LoopConfig,
    LoopState,
    SentText,
    allow_automated,
    is_echo,
    note_automated,
    on_inbound,
    resume,
    template_pattern,
)

CFG = LoopConfig(cap=5, window_ms=600_000, echo_ms=2_000, bot_reply_ms=10_000, ping_pong=3, pause_ms=3_600_000)
NO_CAP = LoopConfig(cap=0, window_ms=600_000, echo_ms=2_000, bot_reply_ms=10_000, ping_pong=3, pause_ms=3_600_000)
FIVE = (0, 60_000, 120_000, 180_000, 240_000)
State = tuple[tuple[int, ...], tuple[int, ...], int]  # (automated, bot_like, paused_until_ms)


def state(s: State) -> LoopState:
    return LoopState(*s)


def plain(s: LoopState) -> State:
    return (s.automated, s.bot_like, s.paused_until_ms)


AUTOMATED = [
    # (state before, now, config) -> ((allowed, reason, alert), state after)
    pytest.param(((), (), 0), 1000, CFG, ((True, None, False), ((1000,), (), 0)), id="first-is-counted"),
    pytest.param((FIVE[:4], (), 0), 300_000, CFG, ((True, None, False), ((*FIVE[:4], 300_000), (), 0)),
                 id="fifth-within-the-cap"),
    pytest.param((FIVE, (7,), 0), 300_001, CFG, ((False, "loop_cap", True), (FIVE, (7,), 300_001 + 3_600_000)),
                 id="cap-pauses-with-an-alert"),
    pytest.param((FIVE, (), 3_900_001), 300_003, CFG, ((False, "conversation_paused", False), (FIVE, (), 3_900_001)),
                 id="paused-refuses-without-a-new-alert"),
    pytest.param(((0, 1, 2, 3, 4), (), 0), 600_003, CFG, ((True, None, False), ((4, 600_003), (), 0)),
                 id="window-slides-and-forgets-old-sends"),
    pytest.param(((0, 1, 2, 3, 4), (), 0), 600_000, CFG, ((True, None, False), ((1, 2, 3, 4, 600_000), (), 0)),
                 id="a-send-exactly-window-old-is-out"),
    pytest.param(((), (), 5000), 5000, CFG, ((True, None, False), ((5000,), (), 5000)), id="pause-over-at-its-end"),
    pytest.param((FIVE, (), 0), 300_001, NO_CAP, ((True, None, False), ((*FIVE, 300_001), (), 0)),
                 id="cap-zero-disables-the-cap"),
]


@pytest.mark.parametrize(("before", "now", "cfg", "expected"), AUTOMATED)
def test_allow_automated(before: State, now: int, cfg: LoopConfig,
                         expected: tuple[tuple[bool, str | None, bool], State]) -> None:
    v, after = allow_automated(state(before), now, cfg)
    assert ((v.allowed, v.reason, v.alert), plain(after)) == expected


@pytest.mark.parametrize(("before", "now", "expected"), [
    pytest.param(((), (), 0), 1000, ((True, None, False), ((1000,), (), 0)), id="confirmation-is-counted"),
    pytest.param((FIVE, (), 0), 300_001, ((True, None, False), ((*FIVE, 300_001), (), 0)),
                 id="confirmation-goes-out-above-the-cap"),
    pytest.param(((0,), (), 0), 600_000, ((True, None, False), ((600_000,), (), 0)), id="window-slides"),
    pytest.param((FIVE, (), 3_900_001), 300_003, ((False, "conversation_paused", False), (FIVE, (), 3_900_001)),
                 id="paused-gets-nothing"),
])
def test_note_automated(before: State, now: int, expected: tuple[tuple[bool, str | None, bool], State]) -> None:
    v, after = note_automated(state(before), now, CFG)
    assert ((v.allowed, v.reason, v.alert), plain(after)) == expected


INBOUND = [
    # (state before, now) -> (alert, state after)
    pytest.param(((), (), 0), 5000, (False, ((), (), 0)), id="no-automated-send-nothing-to-note"),
    pytest.param(((0,), (), 0), 60_000, (False, ((0,), (), 0)), id="slow-human-reply"),
    pytest.param(((0,), (), 0), 1500, (False, ((0,), (1500,), 0)), id="quick-reply-is-bot-like"),
    pytest.param(((0,), (), 0), 10_000, (False, ((0,), (10_000,), 0)), id="reply-at-the-bot-limit-is-bot-like"),
    pytest.param(((0,), (), 0), 10_001, (False, ((0,), (), 0)), id="reply-after-the-bot-limit-is-human"),
    pytest.param(((5000,), (), 0), 4000, (False, ((5000,), (), 0)), id="send-after-the-reply-does-not-count"),
    pytest.param(((40_000,), (1500, 21_500), 0), 41_500, (True, ((40_000,), (1500, 21_500, 41_500), 3_641_500)),
                 id="third-bot-like-reply-pauses-with-an-alert"),
    pytest.param(((640_000,), (1500, 61_500), 0), 641_500, (False, ((640_000,), (61_500, 641_500), 0)),
                 id="bot-like-replies-slide-out-of-the-window"),
    pytest.param(((40_000,), (1500, 21_500), 9_000_000), 41_500,
                 (False, ((40_000,), (1500, 21_500, 41_500), 9_000_000)),
                 id="already-paused-no-second-alert"),
]


@pytest.mark.parametrize(("before", "now", "expected"), INBOUND)
def test_on_inbound(before: State, now: int, expected: tuple[bool, State]) -> None:
    alert, after = on_inbound(state(before), now, CFG)
    assert (alert, plain(after)) == expected


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


REMINDER = template_pattern("Hola {patient_name}, le recordamos su cita en {clinic} el {date}.")
ECHOES = [
    # (what we sent: (at_ms, digest, pattern), now, folded inbound text, its digest) -> echo?
    pytest.param((1000, "d1", None), 2500, "ANYTHING", "d1", True, id="identical-text-within-two-seconds"),
    pytest.param((1000, "d1", None), 3000, "ANYTHING", "d1", True, id="identical-text-at-two-seconds"),
    pytest.param((1000, "d1", None), 3500, "ANYTHING", "d1", False, id="identical-text-after-two-seconds"),
    pytest.param((1000, "d1", None), 500, "ANYTHING", "d1", False, id="inbound-before-our-send"),
    pytest.param((1000, "d1", None), 2500, "ANYTHING", "d2", False, id="other-text"),
    pytest.param((1000, "d1", None), 2500, "ANYTHING", None, False, id="inbound-without-digest"),
    pytest.param((0, None, REMINDER), 1000, fold("Hola Maria, le recordamos su cita en Clinica Sur el 3/4."), None,
                 True, id="our-template-with-any-parameters"),
    pytest.param((0, None, REMINDER), 1000, fold("Hola, no puedo ir"), None, False, id="patient-text-not-our-template"),
    pytest.param((0, None, REMINDER), 1000, "", None, False, id="empty-text-is-no-echo"),
    pytest.param((0, None, REMINDER), 5000, fold("Hola Maria, le recordamos su cita en Clinica Sur el 3/4."), None,
                 False, id="our-template-too-late"),
    pytest.param((0, None, None), 1000, "ANYTHING", None, False, id="nothing-remembered-of-the-send"),
]


@pytest.mark.parametrize(("sent", "now", "folded", "digest", "echo"), ECHOES)
def test_is_echo(sent: tuple[int, str | None, str | None], now: int, folded: str, digest: str | None,
                 echo: bool) -> None:
    assert is_echo((SentText(*sent),), now, folded, digest, CFG) is echo


def test_echo_of_any_of_several_sends() -> None:
    sent = (SentText(0, digest="old"), SentText(1000, digest="d1"))
    assert is_echo(sent, 2500, "ANYTHING", "d1", CFG)
    assert not is_echo((), 2500, "ANYTHING", "d1", CFG)


@pytest.mark.parametrize(("text_format", "pattern"), [
    pytest.param("Hola {patient_name}, su cita es el {date}.", "HOLA.*SU\\ CITA\\ ES\\ EL.*",
                 id="placeholders-become-wildcards"),
    pytest.param("Gracias, su cita queda confirmada.", "GRACIAS\\ SU\\ CITA\\ QUEDA\\ CONFIRMADA",
                 id="no-placeholder"),
    pytest.param("Cita en {clinic}: {time}", "CITA\\ EN.*.*", id="adjacent-placeholders"),
    pytest.param("Está {x} aquí", "ESTA.*AQUI", id="accents-folded"),
])
def test_template_pattern(text_format: str, pattern: str) -> None:
    assert template_pattern(text_format) == pattern


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
