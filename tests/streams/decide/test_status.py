import pytest

from streams.decide.status import Entry, advance, merge, message_merge


@pytest.mark.parametrize(("current", "incoming", "expected"), [
    (None, "queued", "queued"),
    ("queued", "sent", "sent"),
    ("sent", "queued", "sent"),          # late, lower: ignored
    ("delivered", "sent", "delivered"),
    ("read", "delivered", "read"),
    ("sent", "failed", "failed"),
    ("failed", "sent", "failed"),        # terminal absorbs progress
    ("failed", "undelivered", "failed"),  # the first terminal stays
    ("delivered", "failed", "delivered"),  # a failure after delivery changes nothing
    ("failed", "delivered", "delivered"),  # multi-device WhatsApp: delivered wins
    ("undelivered", "read", "read"),
    ("cancelled", "delivered", "delivered"),
    ("blocked", "queued", "blocked"),
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
