"""The worker's per-minute summary: which status changes count as what, and the INFO line it logs."""
from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

import pytest

from streams.agents.base import View
from streams.summary import FIELDS, Summary, log_summary, outcomes
from tests.streams.decide.helpers import sent_message


@pytest.mark.parametrize(("before", "after", "expected"), [
    (None, "accepted", ("accepted",)),
    (None, "routed", ("accepted",)),
    (None, "cancelled", ("accepted", "cancelled")),  # a duplicate: accepted and ended in one batch
    (None, "failed", ("accepted", "failed")),  # no route
    (None, "blocked", ("accepted", "blocked")),
    ("accepted", "routed", ()),
    ("sent", "delivered", ("delivered",)),
    ("sent", "read", ("delivered",)),  # read without a delivered receipt: it reached the patient
    ("delivered", "read", ()),  # counted once
    ("sent", "failed", ("failed",)),
    ("sent", "undelivered", ("undelivered",)),
    ("queued", "expired", ("expired",)),
    ("failed", "delivered", ("delivered",)),  # multi-device WhatsApp: delivered wins (status.merge)
    ("failed", "failed", ()),
], ids=lambda v: str(v))
def test_status_changes_count_once_as_what_they_mean(before, after, expected):
    assert outcomes(before, after) == expected


class _Table:
    def __init__(self) -> None:
        self.data: dict[str, Any] = {}


def test_the_batch_view_tells_a_new_message_from_a_changed_one():
    patients, messages = _Table(), _Table()
    sent = sent_message()
    summary = Summary()

    view = View(patients, messages)  # type: ignore[arg-type]
    view.put_message(sent)  # created in this batch
    for msg in view.restated():
        summary.changed(view.first_status(msg), msg.status)

    view = View(patients, messages)  # type: ignore[arg-type]
    assert view.message(sent.recipient_id, sent.message_id) is sent
    view.put_message(replace(sent, status="delivered"))
    for msg in view.restated():
        summary.changed(view.first_status(msg), msg.status)
    counts = summary.take()
    assert (counts["accepted"], counts["delivered"]) == (1, 1)
    assert summary.take() == dict.fromkeys(FIELDS, 0)  # taking starts the next minute afresh


def test_the_summary_is_one_info_line_of_counts(caplog):
    summary = Summary()
    for _ in range(3):
        summary.add("accepted")
    summary.add("held")
    summary.changed("sent", "delivered")
    summary.changed("sent", "failed")
    with caplog.at_level(logging.INFO, logger="carelay.streams"):
        log_summary(summary, 60)
        log_summary(summary, 60)
    [first, second] = [r for r in caplog.records if r.name == "carelay.streams.summary"]
    assert first.levelno == logging.INFO
    assert first.getMessage() == ("pipeline, last 60 s on this worker: accepted 3, held 1, delivered 1, failed 1, "
                                  "undelivered 0, expired 0, cancelled 0, blocked 0")
    assert "accepted 0, held 0, delivered 0, failed 0" in second.getMessage()  # a quiet minute says so
