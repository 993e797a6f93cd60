"""Changelogged Faust tables whose entries follow the patient's partition, from any context.

Faust writes a table change to the partition of the event being processed, which a batch
(`take_events`) or a timer does not have. Keys here are `rid` or `rid|...`, and the changelog
partition is the patient's (streams.partitioning), the same number as every patient-scoped topic,
so Faust's co-partitioned assignment gives one worker a patient's records and events together.
`durable()` waits until the changes so far are acknowledged by the broker: the dispatch ledger
needs its IN_FLIGHT record stored before the provider call.
"""
from __future__ import annotations

import asyncio
from typing import Any

import faust
from faust.types import AppT

from streams import statecodec
from streams.partitioning import partition_for, patient_of


class PatientTable(faust.Table):
    def __init__(self, app: AppT, *, name: str, record: type, partitions: int, **kwargs: Any) -> None:
        super().__init__(app, name=name, partitions=partitions, beacon=app.tables.beacon, **kwargs)
        self.value_serializer = statecodec.register(f"carelay_{name}", record)
        self._partition_count = partitions
        self._pending: list[asyncio.Future[Any]] = []

    def partition_for_key(self, key: Any) -> int:
        return partition_for(patient_of(str(key)), self._partition_count)

    def on_key_set(self, key: Any, value: Any) -> None:
        self._pending.append(self.send_changelog(self.partition_for_key(key), key, value))
        self._sensor_on_set(self, key, value)

    def on_key_del(self, key: Any) -> None:
        fut = self.send_changelog(self.partition_for_key(key), key, value=None, value_serializer="raw")
        self._pending.append(fut)
        self._sensor_on_del(self, key)

    async def durable(self) -> None:
        """Wait for the broker's acknowledgement of every change made since the last call."""
        pending, self._pending = self._pending, []
        if pending:
            await asyncio.gather(*pending)

    def forget(self) -> None:
        """Stop tracking changes made so far (Faust still flushes them before committing offsets)."""
        self._pending.clear()


def add_table(app: faust.App, name: str, record: type, partitions: int) -> PatientTable:
    table = PatientTable(app, name=name, record=record, partitions=partitions)
    app.tables.add(table)
    return table
