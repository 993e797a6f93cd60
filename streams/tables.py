"""Changelogged Faust tables whose entries follow the patient's partition, from any context.

Faust writes a table change to the partition of the event being processed, which a batch
(`take_events`) or a timer does not have. Keys here are `rid` or `rid|...`, and the changelog
partition is the patient's (streams.partitioning), the same number as every patient-scoped topic,
so Faust's co-partitioned assignment gives one worker a patient's records and events together.

Each batch keeps its own changes (streams.agents.base.View): they reach the store (memory) at once
and the changelog after the batch's outputs. Records go straight to the producer in the bytes
Faust's recovery reads back (JSON key, the record codec's value), without Faust's per-message
future machinery, and are acknowledged by the broker before the batch ends (the dispatch ledger
needs its IN_FLIGHT record stored before a provider call).
"""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import faust
import orjson
from faust.types import AppT

from streams import statecodec
from streams.partitioning import partition_for, patient_of

YIELD_EVERY = 2000  # rows scanned between yields to the event loop

SendAll = Callable[[list[tuple[str, bytes | None, bytes | None, int | None]]], Awaitable[None]]


async def scan(table: Mapping[Any, Any]) -> AsyncIterator[tuple[str, Any]]:
    """Every (key, record) of a table's store, from a snapshot of it, yielding to the event loop
    every YIELD_EVERY rows: timers scan the whole table without holding up the agents."""
    for n, (key, record) in enumerate(list(table.items())):
        if n % YIELD_EVERY == YIELD_EVERY - 1:
            await asyncio.sleep(0)
        yield str(key), record


class PatientTable(faust.Table):
    def __init__(self, app: AppT, *, name: str, record: type, partitions: int, **kwargs: Any) -> None:
        super().__init__(app, name=name, partitions=partitions, beacon=app.tables.beacon, **kwargs)
        self.value_serializer = statecodec.register(f"carelay_{name}", record)
        self._partition_count = partitions

    def partition_for_key(self, key: Any) -> int:
        return partition_for(patient_of(str(key)), self._partition_count)

    def on_key_set(self, key: Any, value: Any) -> None:
        raise TypeError(f"table {self.name}: write through a View (streams.agents.base), not table[key] = value")

    def on_key_del(self, key: Any) -> None:
        raise TypeError(f"table {self.name}: write through a View (streams.agents.base), not del table[key]")

    def records(self, changes: dict[str, Any]) -> list[tuple[str, bytes | None, bytes | None, int | None]]:
        """Changelog records for `changes` (key -> record, None deletes); the store has them already."""
        topic = self.changelog_topic_name
        return [(topic, orjson.dumps(key), None if value is None else statecodec.dumps(value),
                 self.partition_for_key(key)) for key, value in changes.items()]

    async def write(self, send_all: SendAll, changes: dict[str, Any]) -> None:
        await send_all(self.records(changes))


def add_table(app: faust.App, name: str, record: type, partitions: int) -> PatientTable:
    table = PatientTable(app, name=name, record=record, partitions=partitions)
    app.tables.add(table)
    return table
