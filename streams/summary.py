"""The worker's per-minute summary: what happened to the messages of its partitions, as one log line.

Each worker counts its own outcomes, as they are decided: a message accepted (created by intake), a
send request held (parked by intake: scheduled for later or rate-limited), a message that reached the
patient (`delivered`, or `read` first), and one that ended otherwise (`failed`, `undelivered`,
`expired`, `cancelled`, `blocked`). Every message lives on exactly one worker's partition, so the
workers' lines add up to the pipeline's; nothing is read back from Kafka to make them. Counts only:
no ids, no numbers, no text.
"""
from __future__ import annotations

import logging

from streams.decide.status import FAILURES, REACHED

log = logging.getLogger("carelay.streams.summary")

INTERVAL_S = 60.0
FIELDS: tuple[str, ...] = ("accepted", "held", "delivered", "failed", "undelivered", "expired", "cancelled",
                           "blocked")


def outcomes(before: str | None, after: str) -> tuple[str, ...]:
    """What one message's status change within a batch adds to the summary (`before` None: a new message)."""
    found: list[str] = []
    if before is None:
        found.append("accepted")
    if after in REACHED and before not in REACHED:
        found.append("delivered")
    elif after in FAILURES and after != before and before not in FAILURES and before not in REACHED:
        found.append(after)
    return tuple(found)


class Summary:
    """Counts since the last `take`; the agents add, the worker's timer takes and logs."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = dict.fromkeys(FIELDS, 0)

    def add(self, name: str, n: int = 1) -> None:
        self.counts[name] += n

    def changed(self, before: str | None, after: str) -> None:
        for name in outcomes(before, after):
            self.counts[name] += 1

    def take(self) -> dict[str, int]:
        counts, self.counts = self.counts, dict.fromkeys(FIELDS, 0)
        return counts


def summary_line(counts: dict[str, int], seconds: float) -> str:
    ended = ", ".join(f"{name} {counts[name]}" for name in FIELDS[3:])
    return (f"pipeline, last {seconds:g} s on this worker: accepted {counts['accepted']}, held {counts['held']}, "
            f"delivered {counts['delivered']}, {ended}")


def log_summary(summary: Summary, seconds: float = INTERVAL_S) -> None:
    log.info(summary_line(summary.take(), seconds))
