"""Delay forwarders: hold records from the delay topics until due, then send them on.

Each delay topic has a fixed step (1 s, 10 s, 60 s, 600 s, 3600 s). A record is parked on the
largest step not longer than its remaining wait; the forwarder of step D holds each record until
its Kafka timestamp + D (or its due time, if sooner), so within a partition the hold times arrive
in order and only the head is ever waited for. If the record is not due then, the remainder is
parked again on a shorter step. Held records are not acknowledged until forwarded: after a crash
they are read again from the committed offset, and forwarding twice is harmless (everything
downstream is idempotent).
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from faust.types import EventT

from schemas.topics import DELAY_STEPS_S, BoundTopic, Catalog
from streams import convert
from streams.runtime import Out, Runtime

log = logging.getLogger("carelay.streams.delay")
STEPS_MS = tuple(s * 1000 for s in DELAY_STEPS_S)


def step_index(remaining_ms: int) -> int:
    """The largest step not longer than the wait; the shortest for waits below it."""
    index = 0
    for i, step in enumerate(STEPS_MS):
        if step <= remaining_ms:
            index = i
    return index


def delay_topic_for(catalog: Catalog, remaining_ms: int) -> BoundTopic:
    return catalog.delay_topics()[step_index(remaining_ms)]


@dataclass
class Held:
    wake_ms: int
    event: EventT
    record: dict[str, Any]


class DelayForwarder:
    def __init__(self, rt: Runtime, topic: BoundTopic, step_ms: int) -> None:
        self.rt = rt
        self.topic = topic
        self.step_ms = step_ms
        self.held: dict[int, deque[Held]] = {}
        self.count = 0

    def hold(self, event: EventT) -> str | None:
        """Queue one consumed record; returns a dead-letter reason when it cannot be held."""
        try:
            rec = self.topic.codec.decode(event.value)
        except Exception as exc:
            return f"undecodable:{type(exc).__name__}"
        sent_ms = int(event.message.timestamp * 1000)
        wake = min(convert.ms(rec["due_at"]) or 0, sent_ms + self.step_ms)
        self.held.setdefault(event.message.partition, deque()).append(Held(wake, event, rec))
        self.count += 1
        return None

    def due(self, now: int) -> list[Held]:
        ready = []
        for queue in self.held.values():
            while queue and queue[0].wake_ms <= now:
                ready.append(queue.popleft())
        self.count -= len(ready)
        return ready

    def next_wake(self) -> int | None:
        heads = [q[0].wake_ms for q in self.held.values() if q]
        return min(heads) if heads else None

    def drop(self, partitions: set[int]) -> None:
        for p in partitions:
            self.count -= len(self.held.pop(p, ()))


class DelayService:
    """One loop serving every forwarder: forwards due records, then acknowledges them.

    `untrack` tells Faust not to wait for a held record at shutdown or rebalance (it waits for every
    unacknowledged event, which a record held for an hour would stall); the record stays
    uncommitted, so it is read again from the committed offset by whoever owns the partition next.
    """

    def __init__(self, rt: Runtime, untrack: Callable[[Any], None] = lambda _event: None) -> None:
        self.rt = rt
        self.untrack = untrack
        self.forwarders: dict[str, DelayForwarder] = {
            t.name: DelayForwarder(rt, t, step) for t, step in zip(rt.catalog.delay_topics(), STEPS_MS, strict=True)
        }
        self._wake = asyncio.Event()

    async def consume(self, topic_name: str, stream: Any) -> None:
        """The agent body of one delay topic: hold every record, never acknowledge here."""
        forwarder = self.forwarders[topic_name]
        async for event in stream.noack().events():
            reason = forwarder.hold(event)
            if reason is not None:
                out = Out()
                m = event.message
                out.add(self.rt.catalog.dead_letter, m.key, convert.dead_letter(
                    m.topic, m.partition, m.offset, m.key, event.value, "undecodable", self.rt.now(), detail=reason),
                    None)
                await self.rt.emit(out)
                event.ack()
                continue
            self.untrack(event)
            self.rt.metrics.delayed.labels(topic_name).set(forwarder.count)
            self._wake.set()

    def revoked(self, partitions_by_topic: dict[str, set[int]]) -> None:
        for name, parts in partitions_by_topic.items():
            if name in self.forwarders:
                self.forwarders[name].drop(parts)

    async def run(self) -> None:
        while True:
            now = self.rt.now()
            ready = [h for f in self.forwarders.values() for h in f.due(now)]
            if ready:
                await self.forward(ready, now)
                continue
            wakes = [w for f in self.forwarders.values() if (w := f.next_wake()) is not None]
            timeout = max(0.0, (min(wakes) - now) / 1000) if wakes else 1.0
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=min(timeout, 1.0))

    async def forward(self, ready: list[Held], now: int) -> None:
        rt = self.rt
        out = Out()
        for held in ready:
            rec = held.record
            key: bytes | None = rec.get("key")
            due = convert.ms(rec["due_at"]) or 0
            rid = key.decode() if key else None
            part = rt.partition(rid) if rid else None
            if due > now:  # a step ended before the record is due: park the rest on a shorter step
                out.add(delay_topic_for(rt.catalog, due - now), key, rec, part)
                continue
            try:
                target = rt.catalog.by_name(rec["target_topic"])
            except KeyError:
                m = held.event.message
                out.add(rt.catalog.dead_letter, key, convert.dead_letter(
                    m.topic, m.partition, m.offset, key, held.event.value, "unknown_target_topic", now), None)
                rt.metrics.dead_letters.labels("unknown_target_topic").inc()
                continue
            out.raw(target.name, key, rec["value"], part)
            rt.metrics.decide("delay", rec.get("reason") or "forwarded")
        await rt.emit(out)
        for held in ready:
            held.event.ack()
        for name, f in self.forwarders.items():
            rt.metrics.delayed.labels(name).set(f.count)
