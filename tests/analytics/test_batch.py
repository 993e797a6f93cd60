"""Batches: bounded by rows and age, commit the next offset per partition, same ranges → same token."""
from __future__ import annotations

from analytics.batch import Batch
from analytics.rows import Row, Source

ROW = Row("events", ("x",))


def test_due_by_size_or_by_age_of_the_first_record():
    b = Batch(max_rows=3, max_age_s=1.0)
    assert not b.due(100.0) and not b
    b.add(Source("a", 0, 5), [ROW], now=10.0)
    assert not b.due(10.5) and b.seconds_left(10.5) == 0.5
    assert b.due(11.0)
    b2 = Batch(max_rows=3, max_age_s=60)
    b2.add(Source("a", 0, 1), [ROW, ROW], now=0)
    assert not b2.due(0) and b2.room() == 1
    b2.add(Source("a", 0, 2), [ROW], now=0)
    assert b2.due(0) and b2.row_count == 3


def test_records_without_rows_still_advance_the_committed_offset():
    b = Batch(10, 1)
    b.add(Source("a", 0, 7), [], now=0)  # a tombstone
    assert b and b.row_count == 0
    assert b.commit_offsets() == [("a", 0, 8)]


def test_commit_offsets_are_one_past_the_highest_offset_per_partition():
    b = Batch(100, 1)
    for topic, part, off in [("a", 0, 5), ("a", 0, 6), ("a", 1, 9), ("b", 0, 0), ("a", 0, 7)]:
        b.add(Source(topic, part, off), [ROW], now=0)
    assert b.commit_offsets() == [("a", 0, 8), ("a", 1, 10), ("b", 0, 1)]


def test_token_depends_on_table_and_offset_ranges_only():
    def batch(offsets: list[int]) -> Batch:
        b = Batch(100, 1)
        for off in offsets:
            b.add(Source("a", 0, off), [ROW], now=off)
        return b
    assert batch([1, 2, 3]).token("events") == batch([3, 1, 2]).token("events")
    assert batch([1, 2, 3]).token("events") != batch([1, 2]).token("events")
    assert batch([1, 2, 3]).token("events") != batch([1, 2, 3]).token("audit_log")


def test_revoked_partitions_are_not_committed_and_clear_empties():
    b = Batch(100, 1)
    b.add(Source("a", 0, 1), [ROW], now=0)
    b.add(Source("a", 1, 1), [ROW], now=0)
    b.drop_partitions({("a", 1)})
    assert b.commit_offsets() == [("a", 0, 2)]
    b.clear()
    assert not b and b.row_count == 0 and b.commit_offsets() == [] and b.started_at is None
