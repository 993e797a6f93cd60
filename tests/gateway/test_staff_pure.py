"""The staff-notification view's pure parts: query parsing, the bounded per-organization window, paging."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gateway.errors import InvalidField, InvalidTime
from gateway.staff import DEFAULT_LIMIT, MAX_LIMIT, Notice, Recent, StaffQuery, cursor, parse_query, present, select

T0 = 1_780_000_000_000


def notice(i: int, at: int | None = None, **over) -> Notice:
    rec = {"event_id": f"in-{i}:staff.attention_needed", "type": "staff.attention_needed",
           "organization_id": "demo-clinic", "recipient_id": "r" * 43, "appointment_id": f"appt-{i}",
           "message_id": f"m-{i}", "reason": "unclear_reply", "channel": "WHATSAPP", "language": None,
           "text": {"kid": "t1", "nonce": b"n", "ct": b"sealed"}, "correlation_id": None,
           "occurred_at": datetime.fromtimestamp((T0 if at is None else at) / 1000, UTC),
           "details": {"b": "2", "a": "1"}}
    rec.update(over)
    return Notice.of(rec)


def test_query_defaults_and_bounds():
    assert parse_query({}) == StaffQuery(None, DEFAULT_LIMIT)
    assert parse_query({"since": "2026-05-01T09:30:00Z", "limit": str(MAX_LIMIT)}) == StaffQuery(
        int(datetime(2026, 5, 1, 9, 30, tzinfo=UTC).timestamp() * 1000), MAX_LIMIT)


@pytest.mark.parametrize(("params", "error", "field"), [
    ({"limit": "0"}, InvalidField, "limit"),
    ({"limit": str(MAX_LIMIT + 1)}, InvalidField, "limit"),
    ({"limit": "-3"}, InvalidField, "limit"),
    ({"limit": "ten"}, InvalidField, "limit"),
    ({"since": "yesterday"}, InvalidTime, "since"),
    ({"since": "2026-05-01T09:30:00"}, InvalidTime, "since"),  # no offset
    ({"since": "2026-05-01T09:30:00 00:00"}, InvalidTime, "since"),  # an unencoded '+' arrives as a space
    ({"org": "other-clinic"}, InvalidField, "org"),  # the organization comes from the key, never the query
    ({"after": "yesterday"}, InvalidField, "after"),
    ({"after": "1780000000000:"}, InvalidField, "after"),
    ({"after": "1780000000000:in-1", "since": "2026-05-01T09:30:00Z"}, InvalidField, "after"),
])
def test_bad_queries_name_the_parameter(params, error, field):
    with pytest.raises(error) as caught:
        parse_query(params)
    assert caught.value.field == field


def test_the_window_keeps_the_newest_per_organization_sorted_and_collapses_replays():
    held = Recent(3)
    for i, at in [(1, T0 + 30), (2, T0 + 10), (3, T0 + 20), (2, T0 + 10), (4, T0 + 40), (5, T0 + 5)]:
        held.add(notice(i, at))
    assert [n.event_id.split(":")[0] for n in held.items] == ["in-3", "in-1", "in-4"]
    assert held.ids == {n.event_id for n in held.items}


def test_select_pages_oldest_first_from_since_inclusive():
    held = sorted((notice(i, T0 + 10 * i) for i in range(10)), key=lambda n: n.order)
    page, more = select(held, StaffQuery(T0 + 30, 4))
    assert [n.occurred_at for n in page] == [T0 + 30, T0 + 40, T0 + 50, T0 + 60] and more
    page, more = select(held, StaffQuery(T0 + 60, 4))
    assert [n.occurred_at for n in page] == [T0 + 60, T0 + 70, T0 + 80, T0 + 90] and not more
    assert select(held, StaffQuery(T0 + 91, 4)) == ([], False)
    assert select(held, StaffQuery(None, 100)) == (held, False)


def test_the_after_cursor_pages_a_burst_within_one_millisecond_without_gaps_or_repeats():
    held = sorted((notice(i, T0) for i in range(7)), key=lambda n: n.order)  # one batch, one timestamp
    assert parse_query({"after": cursor(held[2])}).after == (T0, held[2].event_id)
    seen: list[str] = []
    q = StaffQuery(None, 3)
    while True:
        page, more = select(held, q)
        seen += [n.event_id for n in page]
        if not more:
            break
        q = parse_query({"after": cursor(page[-1]), "limit": "3"})
    assert seen == [n.event_id for n in held]
    # `since` alone cannot leave that millisecond: the same first page again
    assert select(held, StaffQuery(T0, 3))[0] == held[:3]


def test_the_public_shape_never_carries_the_sealed_text():
    doc = present(notice(1))
    assert doc["has_text"] is True and "text" not in doc
    assert "sealed" not in repr(doc) and "nonce" not in repr(doc)
    assert doc["occurred_at"].endswith("Z") and doc["details"] == {"a": "1", "b": "2"}
    assert present(notice(2, text=None))["has_text"] is False


@pytest.mark.parametrize(("params", "field"), [
    ({"limit": "\u00b2"}, "limit"),
    ({"limit": "1\u00b3"}, "limit"),
    ({"limit": "\u0661\u0660"}, "limit"),
    ({"after": "\u00b2:x"}, "after"),
    ({"after": "\u0663:in-1"}, "after"),
], ids=["limit-superscript", "limit-digit-superscript", "limit-arabic-indic", "after-superscript",
        "after-arabic-indic"])
def test_digits_other_than_ascii_are_refused(params, field):
    with pytest.raises(InvalidField) as caught:
        parse_query(params)
    assert caught.value.field == field
