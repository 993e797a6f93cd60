"""A batch of rows bounded by size and age, with the offsets it covers: pure, no Kafka, no ClickHouse.

ClickHouse favours few large inserts, so the sink buffers rows until `max_rows` or until the oldest
is `max_age_s` old. The offsets to commit and the per-table deduplication tokens come from the
(topic, partition, offset) ranges the batch covers: retrying the very same batch after a failed or
timed-out insert sends the same tokens, and ClickHouse drops the blocks it already has.
"""
from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from analytics.rows import Row, Source


@dataclass
class Batch:
    max_rows: int
    max_age_s: float
    started_at: float | None = None  # monotonic time of the first record
    records: int = 0
    rows: dict[str, list[tuple[Any, ...]]] = field(default_factory=lambda: defaultdict(list))
    # (topic, partition) -> [first offset, last offset]
    ranges: dict[tuple[str, int], list[int]] = field(default_factory=dict)

    def add(self, src: Source, rows: list[Row], now: float) -> None:
        """Record one consumed record (even one that yields no rows: its offset must be committed)."""
        if self.started_at is None:
            self.started_at = now
        self.records += 1
        key = (src.topic, src.partition)
        span = self.ranges.get(key)
        if span is None:
            self.ranges[key] = [src.offset, src.offset]
        elif src.offset > span[1]:  # the usual case: offsets grow within a partition
            span[1] = src.offset
        elif src.offset < span[0]:  # re-read after a seek
            span[0] = src.offset
        for row in rows:
            self.rows[row.table].append(row.values)

    @property
    def row_count(self) -> int:
        return sum(len(v) for v in self.rows.values())

    def __bool__(self) -> bool:
        return self.records > 0

    def room(self) -> int:
        return max(1, self.max_rows - self.row_count)

    def due(self, now: float) -> bool:
        if not self:
            return False
        assert self.started_at is not None
        return self.row_count >= self.max_rows or now - self.started_at >= self.max_age_s

    def seconds_left(self, now: float) -> float:
        if self.started_at is None:
            return self.max_age_s
        return max(0.0, self.max_age_s - (now - self.started_at))

    def commit_offsets(self) -> list[tuple[str, int, int]]:
        """(topic, partition, next offset to read): Kafka commits the position after the last record."""
        return sorted((topic, part, span[1] + 1) for (topic, part), span in self.ranges.items())

    def token(self, table: str) -> str:
        spans = ",".join(f"{t}:{p}:{lo}-{hi}" for (t, p), (lo, hi) in sorted(self.ranges.items()))
        return hashlib.sha256(f"{table}|{spans}".encode()).hexdigest()[:40]

    def clear(self) -> None:
        self.started_at = None
        self.records = 0
        self.rows.clear()
        self.ranges.clear()

    def drop_partitions(self, revoked: set[tuple[str, int]]) -> None:
        """Forget offsets of partitions we no longer own; their rows stay (harmless: they replay
        under the same event ids on the new owner), but we must not commit for them."""
        for key in revoked:
            self.ranges.pop(key, None)
