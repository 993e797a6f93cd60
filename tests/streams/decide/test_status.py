import pytest

from streams.decide import status as st
from streams.decide.status import Entry, advance, merge, message_merge


@pytest.mark.parametrize(("current", "incoming", "expected"), [
    pytest.param(None, "queued", "queued", id="first-status"),
    pytest.param("queued", "sent", "sent", id="progress"),
    pytest.param("sent", "queued", "sent", id="late-lower-ignored"),
    pytest.param("delivered", "sent", "delivered", id="late-sent-after-delivered"),
    pytest.param("read", "delivered", "read", id="late-delivered-after-read"),
    pytest.param("sent", "failed", "failed", id="failure-before-delivery"),
    pytest.param("failed", "sent", "failed", id="terminal-absorbs-progress"),
    pytest.param("failed", "undelivered", "failed", id="first-terminal-stays"),
    pytest.param("delivered", "failed", "delivered", id="failure-after-delivery-changes-nothing"),
    pytest.param("failed", "delivered", "delivered", id="multi-device-delivered-wins"),
    pytest.param("undelivered", "read", "read", id="read-after-undelivered"),
    pytest.param("cancelled", "delivered", "delivered", id="delivered-after-cancel"),
    pytest.param("blocked", "queued", "blocked", id="blocked-absorbs-progress"),
    pytest.param("read", "read", "read", id="same-status"),
])
def test_merge(current: str | None, incoming: str, expected: str) -> None:
    assert merge(current, incoming) == expected


def test_merge_never_lowers_a_progress_rank() -> None:
    order = ["accepted", "routed", "queued", "sent", "delivered", "read"]
    for i, a in enumerate(order):
        for b in order:
            assert order.index(merge(a, b)) >= i


def test_read_without_delivered_implies_delivered() -> None:
    step = advance("sent", Entry("read", 50, "WHATSAPP", "meta", "m:0", None, "provider"))
    assert step.status == "read"
    assert [(c.status, c.previous) for c in step.changes] == [("delivered", "sent"), ("read", "delivered")]
    assert [e.source for e in step.history] == ["implied", "provider"]
    assert step.history[0].at_ms == 50


def test_every_event_goes_to_history_even_without_a_change() -> None:
    step = advance("delivered", Entry("sent", 10))
    assert step.status == "delivered" and step.changes == () and len(step.history) == 1
    assert step.history[0].late


def test_out_of_order_events_reach_the_same_end() -> None:
    events = [Entry(s, t) for s, t in (("queued", 1), ("sent", 2), ("delivered", 3), ("read", 4))]
    forward: str | None = None
    for e in events:
        forward = advance(forward, e).status
    backward: str | None = None
    for e in reversed(events):
        backward = advance(backward, e).status
    assert forward == backward == "read"


def test_a_hop_failure_that_falls_back_does_not_end_the_message() -> None:
    assert message_merge("sent", "failed", final=False) == "sent"
    assert message_merge("sent", "failed", final=True) == "failed"
    assert message_merge("sent", "delivered", final=False) == "delivered"


ADVANCE = [
    # (case, attempt status, event, (status, late flags of the entries added))
    ("first_report", None, "queued", ("queued", [False])),
    ("progress", "sent", "delivered", ("delivered", [False])),
    ("lower_rank", "delivered", "queued", ("delivered", [True])),
    ("sent_after_delivered", "delivered", "sent", ("delivered", [True])),
    ("failure_after_delivered", "delivered", "undelivered", ("delivered", [True])),
    ("second_terminal", "failed", "undelivered", ("failed", [True])),
    ("same_status", "sent", "sent", ("sent", [True])),
    ("read_implies_delivered", "sent", "read", ("read", [False, False])),
    ("delivered_after_failed", "failed", "delivered", ("delivered", [False])),
]


@pytest.mark.parametrize(("case", "current", "incoming", "expected"), ADVANCE, ids=[row[0] for row in ADVANCE])
def test_an_event_that_does_not_move_the_attempt_is_late(case: str, current: str | None, incoming: str,
                                                         expected: tuple[str, list[bool]]) -> None:
    step = advance(current, Entry(incoming, 10, attempt_id="m:0", source="provider"))
    assert (step.status, [e.late for e in step.history]) == expected


def _e(status: str, at: int, *, late: bool = False, code: str | None = None, reason: str | None = None,
       next_at: int | None = None) -> Entry:
    return Entry(status, at, attempt_id="m:0", error_code=code, source="provider", reason=reason, late=late,
                 next_attempt_at_ms=next_at)


EXPLAIN = [
    # (case, history, status, final, the entry that explains it (index) or None)
    ("delivered_with_late_failure", (_e("sent", 1), _e("delivered", 2), _e("undelivered", 3, late=True, code="30003")),
     "delivered", True, None),
    ("failed_after_fallback", (_e("failed", 1, code="63016"), _e("failed", 2, code="30008", reason="no_channel_left"),
                               _e("failed", 3, late=True, code="x")), "failed", True, 1),
    ("blocked", (_e("accepted", 1), _e("blocked", 2, reason="blocked_no_consent")), "blocked", True, 1),
    ("retrying", (_e("routed", 1), _e(st.RETRYING, 2, code="20429", reason="provider_rate_limited", next_at=9)),
     "routed", False, 1),
    ("retry_then_sent", (_e(st.RETRYING, 2, next_at=9), _e("queued", 10)), "queued", False, None),
    ("retry_behind_a_late_entry", (_e(st.RETRYING, 2, next_at=9), _e("queued", 3, late=True)), "routed", False, 0),
]


@pytest.mark.parametrize(("case", "history", "status", "final", "index"), EXPLAIN, ids=[row[0] for row in EXPLAIN])
def test_explain_names_the_entry_that_ended_the_message_or_its_next_try(
        case: str, history: tuple[Entry, ...], status: str, final: bool, index: int | None) -> None:
    found = st.explain(history, status, final=final)
    assert found is (history[index] if index is not None else None)
