"""streams.faust_adapter.Stream.take_events: batches as Faust's, acked after handling, no idle wake-ups.

Run through Faust's own agent test context (an in-memory channel, no broker): what is tested is the
batching, which happens above the transport.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import faust

from streams.faust_adapter import Stream, close_consumer_thread_loop

WITHIN_S = 0.2


@asynccontextmanager
async def _running(take: Any) -> AsyncIterator[Any]:
    """`take` as an agent of a fresh app, in Faust's test context."""
    app = faust.App(f"carelay-stream-test-{id(take)}", store="memory://", Stream=Stream, web_enabled=False,
                    loop=asyncio.get_running_loop())
    try:
        async with app.agent()(take).test_context() as agent:
            yield agent
    finally:  # the consumer's thread made a loop of its own and, never started, never closes it
        close_consumer_thread_loop(app)


def test_a_partial_batch_waits_its_window_from_the_first_event_and_a_full_one_goes_at_once():
    got: list[tuple[float, list[int], bool]] = []

    async def take(stream: Any) -> None:
        async for events in stream.take_events(3, within=WITHIN_S):
            acked = any(e.message.acked for e in events)
            got.append((time.monotonic(), [e.value for e in events], acked))

    async def run() -> float:
        async with _running(take) as a:
            await asyncio.sleep(0.3)  # idle first: the window opens with the first event, not before
            t0 = time.monotonic()
            await a.put(1)
            await a.put(2)
            await asyncio.sleep(WITHIN_S * 2)
            for v in (3, 4, 5, 6):
                await a.put(v)
            await asyncio.sleep(WITHIN_S * 2)
        return t0

    t0 = asyncio.run(run())
    assert [batch for _, batch, _ in got] == [[1, 2], [3, 4, 5], [6]]
    assert got[0][0] - t0 >= WITHIN_S * 0.9  # not cut short by a tick that fell inside the window
    assert not any(acked for _, _, acked in got)  # acked only after the agent handled the batch


def test_an_idle_stream_does_not_wake_up():
    waits = 0
    original = Stream.wait_for_stopped

    async def counted(self: Stream, *args: Any, **kwargs: Any) -> bool:
        nonlocal waits
        waits += 1
        return await original(self, *args, **kwargs)

    async def take(stream: Any) -> None:
        async for _ in stream.take_events(10, within=0.01):
            pass

    async def run() -> None:
        async with _running(take):
            await asyncio.sleep(0.5)  # Faust's own take_events would wake about 50 times here

    Stream.wait_for_stopped = counted  # type: ignore[method-assign,assignment]
    try:
        asyncio.run(run())
    finally:
        Stream.wait_for_stopped = original  # type: ignore[method-assign]
    assert waits <= 1
