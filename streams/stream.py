"""The worker's Faust Stream: `take_events` that sleeps while its topic is idle.

Faust's `take_events(max_, within)` wakes every `within` to look at its buffer, events or not: with
eight batch agents at 50 ms that was 160 wake-ups a second of an idle worker, each through mode's
`wait_for_stopped` (a task per wait), and most of the idle worker's CPU. Here a batch's window
opens with its first event: the agent sleeps until an event arrives, then waits up to `within` for
the batch to fill, as before. Under a trickle a hop waits the whole `within` instead of the rest
of the current tick; under load nothing changes (the window fills or runs out either way).

Everything else is Faust's own `take_events` (faust-streaming 0.11): events are acked only after the
batch they belong to was handled, so a crash replays the batch (streams/README.md, "Exactly once").
"""
from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Sequence
from typing import Any, cast

import faust
from faust.streams import _tracks_buffer_agen
from faust.types import EventT
from mode.utils.futures import notify
from mode.utils.times import Seconds, want_seconds


class Stream(faust.Stream):
    @_tracks_buffer_agen
    async def take_events(self, max_: int, within: Seconds) -> AsyncGenerator[Sequence[EventT], None]:
        buffer: list[Any] = []
        events: list[EventT] = []
        arrived = asyncio.Event()  # the buffer holds at least one event: the batch's window is open
        buffer_full = asyncio.Event()
        buffer_consumed = asyncio.Event()
        timeout = want_seconds(within) if within else None
        stream_enable_acks: bool = self.enable_acks
        buffer_consuming: asyncio.Future[None] | None = None
        channel_it = aiter(self.channel)

        async def add_to_buffer(value: Any) -> Any:
            nonlocal buffer_consuming
            try:
                if buffer_consuming is not None:  # the batch is being handled: wait for it
                    try:
                        await buffer_consuming
                    finally:
                        buffer_consuming = None
                buffer.append(value)
                event = self.current_event
                if event is None:
                    raise RuntimeError("Take buffer found current_event is None")
                events.append(event)
                arrived.set()
                if len(buffer) >= max_:
                    buffer_full.set()
                    buffer_consumed.clear()
                    await self.wait(buffer_consumed)  # type: ignore[arg-type]  # never more than max_ per batch
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.log.exception("Error adding to take buffer: %r", exc)
                await self.crash(exc)
            return value

        self.enable_acks = False  # acked below, once the batch was handled
        self.add_processor(add_to_buffer)
        self._enable_passive(cast(Any, channel_it))
        try:
            while not self.should_stop:
                # Events held back while the last batch was handled go in first (one loop round, far
                # cheaper than mode's wait, which starts a task per awaitable): under load the window
                # is then open already, and the only wait is the one for the batch to fill.
                await asyncio.sleep(0)
                if not arrived.is_set() and await self.wait_for_stopped(arrived):  # type: ignore[arg-type]
                    break  # idle until an event arrives: no timeout, no wake-ups
                # mode's annotations miss asyncio.Event and a None timeout (its own "wait for ever"), as in Faust
                await self.wait_for_stopped(buffer_full, timeout=timeout)  # type: ignore[arg-type]
                if buffer:
                    buffer_consuming = asyncio.get_running_loop().create_future()
                    try:
                        yield list(events)
                    finally:
                        buffer.clear()
                        for event in events:
                            await self.ack(event)
                        events.clear()
                        notify(buffer_consuming)
                        arrived.clear()
                        buffer_full.clear()
                        buffer_consumed.set()
        finally:
            self.enable_acks = stream_enable_acks
            self._processors.remove(add_to_buffer)
