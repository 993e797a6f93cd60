"""The one notification of a completed assignment: the worker tells the sweeper, the reminder timer and
the AI bridge, and a patient due-time index (PatientDeadlines) is rebuilt from the table then, and
only then."""
from __future__ import annotations

import asyncio
from typing import Any, cast

from streams.agents.appointments import next_reminder_ms
from streams.agents.base import PatientDeadlines
from streams.app import Handlers
from streams.care.schedule import SlotState
from streams.decide.records import Patient
from streams.partitioning import partition_for

from .test_hot_path import plan

PARTITIONS = 4


def rid_on(partition: int, n: int = 0) -> str:
    """The n-th key of the form rid-<i> that falls on `partition`."""
    return [r for i in range(1_000) if partition_for(r := f"rid-{i}", PARTITIONS) == partition][n]


def table(**due: int | None) -> dict[str, Patient]:
    """A stand-in for the `patients` table's store: each patient with one reminder due then (None: none)."""
    return {rid: Patient("org", appointments=() if at is None else (plan("a", (at, SlotState.PENDING)),))
            for rid, at in due.items()}


def fire(index: PatientDeadlines, patients: dict[str, Patient], mine: set[int], now: int) -> list[str]:
    return asyncio.run(index.due(patients, mine, now))


def test_an_assignment_rebuilds_the_index_from_the_table_for_the_assigned_partitions_only() -> None:
    mine, theirs = rid_on(0), rid_on(1)
    patients = table(**{mine: 100, theirs: 100, rid_on(0, 1): None})
    index = PatientDeadlines(next_reminder_ms, PARTITIONS)
    assert fire(index, patients, {0, 1}, 1_000) == []  # no assignment yet: the table is not read
    index.assigned({0})
    assert fire(index, patients, {0}, 50) == [] and len(index.heap) == 1  # rebuilt: one patient, due later
    assert fire(index, patients, {0}, 100) == [mine]
    assert fire(index, patients, {0}, 1_000) == []  # fired once


def test_between_assignments_the_table_is_not_rescanned_and_a_new_assignment_starts_afresh() -> None:
    kept, lost, restored = rid_on(0), rid_on(1), rid_on(0, 1)
    patients = table(**{kept: 500, lost: 500})
    index = PatientDeadlines(next_reminder_ms, PARTITIONS)
    index.assigned({0, 1})
    assert fire(index, patients, {0, 1}, 0) == [] and len(index.heap) == 2
    patients.update(table(**{restored: 100}))  # in the table without an agent arming it (a recovery)
    assert fire(index, patients, {0, 1}, 200) == []  # not seen: only an assignment rebuilds
    index.assigned({0})  # partition 1 went to another worker; the recovered table holds `restored`
    assert fire(index, patients, {0}, 200) == [restored]
    assert len(index.heap) == 1  # the lost partition's patient is gone from the index, not just skipped
    assert fire(index, patients, {0}, 500) == [kept]


def test_a_due_time_on_a_partition_no_longer_owned_is_dropped_not_fired() -> None:
    mine, theirs = rid_on(2), rid_on(3)
    patients = table(**{mine: 10, theirs: 10})
    index = PatientDeadlines(next_reminder_ms, PARTITIONS)
    for rid, patient in patients.items():
        index.arm(rid, patient)  # armed by an agent, e.g. just before a rebalance took partition 3
    assert fire(index, patients, {2}, 10) == [mine] and len(index.heap) == 0


def test_the_worker_tells_the_sweeper_the_reminder_timer_and_the_ai_bridge() -> None:
    told: list[tuple[str, set[int]]] = []

    class Listener:
        def __init__(self, name: str) -> None:
            self.name = name

        def assigned(self, partitions: set[int]) -> None:
            told.append((self.name, partitions))

    fields: dict[str, Any] = dict.fromkeys(Handlers.__dataclass_fields__)
    fields.update(sweeper=Listener("sweeper"), reminders=Listener("reminders"), ai=Listener("ai"))
    cast(Any, Handlers)(**fields).assigned({1, 2})
    assert told == [("sweeper", {1, 2}), ("reminders", {1, 2}), ("ai", {1, 2})]
