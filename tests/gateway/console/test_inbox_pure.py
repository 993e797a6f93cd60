"""The inbox's content: open attention notices newest first, counts per reason, the filter, actions."""
from __future__ import annotations

import pytest

from gateway.console import inbox
from gateway.console.inbox import ACKNOWLEDGED, ASSIGNED, RESOLVED, handling_for
from gateway.staff import Notice

T0 = 1_800_000_000_000


def notice(i: int, reason: str | None = "unclear_reply", type_: str = inbox.ATTENTION) -> Notice:
    return Notice(T0 + i, f"n{i}", "clinic-42", type_, reason, f"rid-{i}", None, None, "SMS", "es", False, ())


HELD = [notice(0, "cancel_requested"), notice(1), notice(2), notice(3, None), notice(4, "x", "appointment.confirmed")]


@pytest.mark.parametrize(("actions", "reason", "shown", "counts", "total"), [
    pytest.param({}, None, ["n3", "n2", "n1", "n0"], [("unclear_reply", 2), ("cancel_requested", 1), ("other", 1)],
                 4, id="all-open-newest-first"),
    pytest.param({"n2": ACKNOWLEDGED}, None, ["n3", "n1", "n0"],
                 [("cancel_requested", 1), ("other", 1), ("unclear_reply", 1)], 3, id="acknowledged-gone"),
    pytest.param({"n1": RESOLVED}, None, ["n3", "n2", "n0"],
                 [("cancel_requested", 1), ("other", 1), ("unclear_reply", 1)], 3, id="resolved-gone"),
    pytest.param({"n1": ASSIGNED}, None, ["n3", "n2", "n1", "n0"],
                 [("unclear_reply", 2), ("cancel_requested", 1), ("other", 1)], 4, id="assigned-stays"),
    pytest.param({}, "unclear_reply", ["n2", "n1"], [("unclear_reply", 2), ("cancel_requested", 1), ("other", 1)],
                 4, id="filtered-counts-unfiltered"),
    pytest.param({}, "other", ["n3"], [("unclear_reply", 2), ("cancel_requested", 1), ("other", 1)], 4,
                 id="no-reason-is-other"),
])
def test_build(actions, reason, shown, counts, total):
    handled = {nid: handling_for(a, "clinic-42", nid, "alice", T0) for nid, a in actions.items()}
    box = inbox.build(HELD, handled, reason)
    assert [i.notice.event_id for i in box.items] == shown
    assert list(box.counts) == counts
    assert box.total == total


def test_a_long_inbox_is_cut_and_says_so():
    box = inbox.build([notice(i) for i in range(5)], {}, None, limit=3)
    assert [i.notice.event_id for i in box.items] == ["n4", "n3", "n2"] and box.more


@pytest.mark.parametrize(("raw", "parsed"), [
    pytest.param("acknowledged", ACKNOWLEDGED, id="acknowledged"),
    pytest.param("assigned", ASSIGNED, id="assigned"),
    pytest.param("resolved", RESOLVED, id="resolved"),
    pytest.param("deleted", None, id="unknown"),
    pytest.param("", None, id="empty"),
])
def test_parse_action(raw, parsed):
    assert inbox.parse_action(raw) == parsed


def test_assigning_names_the_assignee():
    assert handling_for(ASSIGNED, "o", "n", "alice", T0).assignee == "alice"
    assert handling_for(ACKNOWLEDGED, "o", "n", "alice", T0).assignee is None


@pytest.mark.parametrize(("page", "shown", "more", "first", "kept_page"), [
    pytest.param(1, ["n6", "n5", "n4"], True, 0, 1, id="first-page-newest"),
    pytest.param(2, ["n3", "n2", "n1"], True, 3, 2, id="second-page"),
    pytest.param(3, ["n0"], False, 6, 3, id="last-page-shorter"),
    pytest.param(9, ["n0"], False, 6, 3, id="past-the-end-is-the-last"),
    pytest.param(0, ["n6", "n5", "n4"], True, 0, 1, id="zero-is-the-first"),
])
def test_pages(page, shown, more, first, kept_page):
    box = inbox.build([notice(i) for i in range(7)], {}, None, limit=3, page=page)
    assert [i.notice.event_id for i in box.items] == shown
    assert (box.more, box.first, box.page, box.pages, box.matched, box.total) == (more, first, kept_page, 3, 7, 7)


def test_pages_of_a_filter_count_every_reason():
    held = [notice(i, "cancel_requested" if i % 2 else "unclear_reply") for i in range(7)]
    box = inbox.build(held, {}, "cancel_requested", limit=2, page=2)
    assert [i.notice.event_id for i in box.items] == ["n1"] and box.matched == 3 and box.total == 7
    assert dict(box.counts) == {"unclear_reply": 4, "cancel_requested": 3}


def test_an_empty_inbox_has_one_page():
    box = inbox.build([], {}, None, page=4)
    assert (box.items, box.page, box.pages, box.more) == ((), 1, 1, False)


@pytest.mark.parametrize(("raw", "page"), [
    pytest.param(None, 1, id="absent"),
    pytest.param("2", 2, id="two"),
    pytest.param("0", 1, id="zero"),
    pytest.param("-1", 1, id="negative"),
    pytest.param("²", 1, id="superscript-digit"),
    pytest.param("٣", 1, id="arabic-indic-digit"),
    pytest.param("1e3", 1, id="not-digits"),
    pytest.param("9999999", 1, id="absurdly-long"),
])
def test_parse_page(raw, page):
    assert inbox.parse_page(raw) == page
