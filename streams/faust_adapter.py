"""The one module that touches private names or internal classes of faust-streaming, mode and aiokafka.

pyproject.toml pins the three exactly (faust-streaming 0.15.3, mode-streaming 0.7.1, aiokafka 0.14.0):
each behaviour patched here has a contract test in tests/streams/test_faust_adapter.py that names it
and fails if an upgrade changes it. No other module of carelay imports or reaches a private name of
these packages (the same test file greps for it). The behaviours, by the name their tests use:

- TAKE_EVENTS: `Stream.take_events`, Faust's batching without idle wake-ups (a fork of Faust's own).
- UNTRACK: `untrack`, a message leaving the consumer's set of unacknowledged messages.
- PRODUCER: `aiokafka_producer`, Faust's running aiokafka producer, for batch sends.
- TRANSPORT: `AdaptedApp`, the worker's transport class in place of the one Faust picks by URL.
- WORKER_CONSUMER: `ConsumerThread`, the hook where Faust's driver creates the worker's consumer.
- SEEK: `ConsumerThread.seek_to_committed` on that consumer (streams.transport, correction 1).
- FETCH: `tune_fetcher`, aiokafka's fetch settings on a consumer and its running fetcher.
- CODEC: `register_codec`, a Faust codec from two functions (Faust's `_dumps`/`_loads` hooks).
- CHANGELOG: no private name: tables write their changelog records themselves (streams.tables) in
  the bytes Faust's recovery reads back; the contract test holds Faust to that.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from typing import Any, cast

import faust
from faust.serializers import codecs
from faust.streams import _tracks_buffer_agen
from faust.transport.drivers import aiokafka as driver
from faust.types import TP, EventT
from mode.utils.futures import notify
from mode.utils.times import Seconds, want_seconds

from streams.transport import seek_committed_or_beginning

log = logging.getLogger("carelay.streams")

# -- TAKE_EVENTS ------------------------------------------------------------------------------------


class Stream(faust.Stream):
    """Faust's Stream whose `take_events` sleeps while its topic is idle.

    Faust's `take_events(max_, within)` wakes every `within` to look at its buffer, events or not: with
    eight batch agents at 50 ms that was 160 wake-ups a second of an idle worker, each through mode's
    `wait_for_stopped` (a task per wait), and most of the idle worker's CPU. Here a batch's window
    opens with its first event: the agent sleeps until an event arrives, then waits up to `within` for
    the batch to fill, as before. Under a trickle a hop waits the whole `within` instead of the rest
    of the current tick; under load nothing changes (the window fills or runs out either way).

    Everything else is Faust's own `take_events`: events are acked only after the batch they belong
    to was handled, so a crash replays the batch (streams/README.md, "Exactly once").
    """

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


# -- UNTRACK, PRODUCER ------------------------------------------------------------------------------

def untrack(app: faust.App, event: Any) -> None:
    """Faust keeps every delivered, unacknowledged message in a set and waits for it to empty before
    a rebalance or shutdown completes: a message parked on purpose (a delay record) must leave it."""
    cast(Any, app.consumer)._unacked_messages.discard(event.message)


def aiokafka_producer(app: faust.App) -> Any:
    """The AIOKafkaProducer under Faust's producer (for `create_batch`/`send_batch`); Faust's commit
    still flushes it before committing offsets."""
    return cast(Any, app.producer)._ensure_producer()


def close_consumer_thread_loop(app: faust.App) -> None:
    """Close the event loop the consumer's thread made for itself: one never started never closes it
    (Faust's agent test context)."""
    cast(Any, app.consumer)._thread.thread_loop.close()


# -- FETCH, WORKER_CONSUMER, SEEK, TRANSPORT ----------------------------------------------------------

def tune_fetcher(consumer: Any, min_bytes: int, max_wait_ms: int) -> bool:
    """Give aiokafka's consumer (and its running fetcher) our fetch.min.bytes / fetch.max.wait.ms.

    Faust offers no setting for either; its 1 byte / 1.5 s answer every fetch at once under load,
    each walking every assigned partition in Python (CPU figures: docs/benchmarks.md). A fetcher
    copies both when it starts, so a running one is set as well. Returns False (and changes
    nothing) if the attributes are not where aiokafka keeps them.
    """
    fetcher = getattr(consumer, "_fetcher", None)
    targets = [consumer, fetcher] if fetcher is not None else [consumer]
    if not all(hasattr(t, "_fetch_min_bytes") and hasattr(t, "_fetch_max_wait_ms") for t in targets):
        return False
    for t in targets:
        t._fetch_min_bytes = min_bytes
        t._fetch_max_wait_ms = max_wait_ms
    return True


def fetch_settings(consumer: Any) -> tuple[int, int]:
    """(fetch.min.bytes, fetch.max.wait.ms) as an AIOKafkaConsumer holds them."""
    return consumer._fetch_min_bytes, consumer._fetch_max_wait_ms


class ConsumerThread(driver.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        config = cast(Any, self.app).config  # CarelayApp's StreamsConfig
        if not tune_fetcher(consumer, config.fetch_min_bytes, config.fetch_max_wait_ms):
            log.warning("aiokafka's fetch settings are not where expected: fetching keeps Faust's defaults")
        return consumer

    async def seek_to_committed(self) -> Mapping[TP, int]:
        # changelog partitions are never committed: Faust's recovery positions them itself
        changelogs = self.consumer.app.tables.changelog_topics
        result: Mapping[TP, int] = await self.call_thread(seek_committed_or_beginning, self._ensure_consumer(),
                                                          changelogs)
        return result


class Consumer(driver.Consumer):
    def _new_consumer_thread(self) -> ConsumerThread:
        return ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class Transport(driver.Transport):
    Consumer = Consumer


def new_worker_consumer(app: faust.App) -> Any:
    """A worker consumer as the app's consumer thread would create it (not started)."""
    thread = cast(Any, app.consumer)._new_consumer_thread()
    try:
        return thread._create_worker_consumer(app.transport)
    finally:
        thread.thread_loop.close()  # never started: nothing else closes it


class AdaptedApp(faust.App):
    """faust.App with the worker's transport (TRANSPORT), whatever the broker URL's scheme."""

    def _new_transport(self) -> Any:
        return Transport(self.conf.broker_consumer, self)


# -- CODEC ------------------------------------------------------------------------------------------

class _FunctionCodec(codecs.Codec):
    def __init__(self, dumps: Callable[[Any], bytes], loads: Callable[[bytes], Any]) -> None:
        super().__init__()
        self._dumps_fn, self._loads_fn = dumps, loads

    def _dumps(self, obj: Any) -> bytes:
        return self._dumps_fn(obj)

    def _loads(self, s: bytes) -> Any:
        return self._loads_fn(s)


def register_codec(name: str, dumps: Callable[[Any], bytes], loads: Callable[[bytes], Any]) -> str:
    """A Faust serializer named `name` (a table's `value_serializer`) from two functions."""
    codecs.register(name, _FunctionCodec(dumps, loads))
    return name
