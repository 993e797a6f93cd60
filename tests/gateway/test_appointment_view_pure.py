"""New or update, and RESCHEDULED, from what the appointments topic holds (gateway.appointment_view)."""
from __future__ import annotations

import pytest

from gateway.appointment_view import UNSEEN, AppointmentView, Decision, Seen, decide

T1, T2 = 1_788_280_200_000, 1_788_366_600_000

CASES = [
    ("first-booking", UNSEEN, "BOOKED", T1, Decision(True, "BOOKED", None)),
    ("first-cancel-without-start", UNSEEN, "CANCELLED", None, Decision(True, "CANCELLED", None)),
    ("same-start-again", Seen(True, T1), "BOOKED", T1, Decision(False, "BOOKED", None)),
    ("moved-start", Seen(True, T1), "BOOKED", T2, Decision(False, "RESCHEDULED", T1)),
    ("cancel-of-known", Seen(True, T1), "CANCELLED", T1, Decision(False, "CANCELLED", None)),
    ("cancel-with-other-start", Seen(True, T1), "CANCELLED", T2, Decision(False, "CANCELLED", T1)),
    ("known-without-start", Seen(True, None), "BOOKED", T2, Decision(False, "BOOKED", None)),
    ("noshow-of-known", Seen(True, T1), "NOSHOW", T1, Decision(False, "NOSHOW", None)),
]


@pytest.mark.parametrize(("seen", "kind", "start", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_decide(seen, kind, start, expected):
    assert decide(seen, kind, start) == expected


def _view() -> AppointmentView:
    return AppointmentView("127.0.0.1:1", "unused", None)  # type: ignore[arg-type]  # never started


def test_the_view_learns_from_records_and_from_its_own_writes():
    view = _view()
    view.apply(b"rid", {"organization_id": "o", "appointment_id": "a", "start_at": T1})
    assert view.seen("o", "a") == Seen(True, T1)
    assert view.seen("other-org", "a") == UNSEEN
    assert view.swap("o", "b", T2) == UNSEEN
    assert view.swap("o", "b", T1) == Seen(True, T2)  # a second PUT before the topic echoes the first


def test_a_write_kafka_refused_is_taken_back():
    view = _view()
    before = view.swap("o", "a", T1)
    view.restore("o", "a", before)
    assert view.seen("o", "a") == UNSEEN
    view.apply(None, {"organization_id": "o", "appointment_id": "a", "start_at": T1})
    before = view.swap("o", "a", T2)
    view.restore("o", "a", before)
    assert view.seen("o", "a") == Seen(True, T1)
