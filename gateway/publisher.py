"""The asyncio bridge to one confluent-kafka Producer per process: publish, await the broker's ack.

A request is answered 2xx only after its record's delivery report came back without error
(acks=all, idempotent producer). librdkafka invokes delivery reports from `poll()`. Two pollers:

- "loop" (the default): the event loop itself calls `poll(0)` while records are in flight (every
  50 ms when idle), so delivery reports run on the loop thread and resolve their futures directly.
  Measured on the accept path: 15-25 % more requests/s and a lower p50 than the thread, because no
  second Python thread competes for the GIL once per delivery report. No ack can come before the
  oldest record in flight has waited `linger.ms` (librdkafka holds its batch that long), so the
  loop polls every millisecond only from then on (`next_poll_in`), sparing a request the five or
  so empty polls of the linger away from saturation.
- "thread": a dedicated thread blocks in `poll()`; the reports gathered in one poll are handed to
  the event loop in a single `call_soon_threadsafe`. Kept for loops that may be busy for long.

Either way, a future that belongs to another event loop (test clients) is resolved through
`call_soon_threadsafe` on its own loop.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from gateway.errors import BodyTooLarge, GatewayError, Unavailable

log = logging.getLogger(__name__)

# A broker ack this recent proves the cluster is reachable without asking it again.
BUSY_TICK_S = 0.001
IDLE_TICK_S = 0.05
READY_ACK_WINDOW_S = 10.0
READY_PROBE_CACHE_S = 2.0
READY_PROBE_TIMEOUT_S = 1.0

Observer = Callable[[str, float, bool], None]  # (topic label, seconds, ok)


def next_poll_in(now: float, oldest_in_flight_at: float | None, linger_s: float, queued: int) -> float:
    """Seconds until the loop poller's next `poll(0)`: not before the oldest record in flight (queued
    at loop time `oldest_in_flight_at`) has lingered, then every millisecond; idle when nothing is queued."""
    if oldest_in_flight_at is not None:
        return max(BUSY_TICK_S, oldest_in_flight_at + linger_s - now)
    return BUSY_TICK_S if queued else IDLE_TICK_S


def producer_config(bootstrap: str, *, linger_ms: int, send_timeout_s: float) -> dict[str, Any]:
    return {
        "bootstrap.servers": bootstrap,
        "client.id": "carelay-gateway",
        "acks": "all",
        "enable.idempotence": True,
        # Java's and Faust's partitioner: a patient's records land where the streams own their state
        "partitioner": "murmur2_random",
        "linger.ms": linger_ms,
        "compression.type": "lz4",
        # topics come from the catalog (ensure_topics); a missing one is an error, not a new topic
        "allow.auto.create.topics": False,
        # librdkafka stops retrying a record when the HTTP caller has been told 503, so a record is
        # rarely taken after its 503; when it is, the client's retry carries the same idempotency
        # key, hence the same message_id, and the streams' dedup table drops the second copy.
        "message.timeout.ms": max(int(send_timeout_s * 1000), linger_ms + 100),
        "socket.connection.setup.timeout.ms": max(1000, min(10_000, int(send_timeout_s * 1000))),
    }


class Publisher:
    """One Producer, one poll thread; `publish()` returns once the broker acked or raises Unavailable."""

    def __init__(
        self, bootstrap: str, *, linger_ms: int, send_timeout_s: float, observe: Observer | None = None,
        extra_config: Mapping[str, Any] | None = None, poll_in_loop: bool = True,
        on_renew: Callable[[], None] | None = None,
    ) -> None:
        config = producer_config(bootstrap, linger_ms=linger_ms, send_timeout_s=send_timeout_s)
        config.update(extra_config or {})
        config["error_cb"] = self._on_error
        config["logger"] = logging.getLogger("gateway.librdkafka")
        self._config = config
        self._producer = Producer(config)
        self._fatal: KafkaError | None = None  # set by librdkafka's error callback; see `_renew`
        self._on_renew = on_renew
        self._linger_s = int(config["linger.ms"]) / 1000
        self._timeout_s = send_timeout_s
        self._retry_after_s = max(1, round(send_timeout_s))
        self._observe = observe
        self._poll_in_loop = poll_in_loop
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tick_handle: asyncio.TimerHandle | None = None
        self._tick_at = 0.0  # loop time of the scheduled poll
        # (loop time queued, future) of the loop's own records, oldest first; done ones leave from the left
        self._in_flight: deque[tuple[float, asyncio.Future[None]]] = deque()
        self._stop = threading.Event()
        self._reports: list[tuple[asyncio.Future[None], KafkaError | None]] = []
        self._last_ack = 0.0
        self._last_down = 0.0
        self._probe_at = 0.0
        self._probe_ok = False

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        """Start polling; call from the event loop that will serve requests (the app's lifespan)."""
        if self._poll_in_loop:
            self._loop = asyncio.get_running_loop()
            self._schedule_tick(IDLE_TICK_S)
        else:
            self._thread = threading.Thread(target=self._poll_forever, name="gateway-producer-poll", daemon=True)
            self._thread.start()

    async def aclose(self, flush_timeout_s: float | None = None) -> int:
        """Stop polling and flush what is queued (audit records sent without waiting). Returns the
        number of records left undelivered."""
        self._stop.set()
        if self._tick_handle is not None:
            self._tick_handle.cancel()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join)
        timeout = self._timeout_s if flush_timeout_s is None else flush_timeout_s
        left = int(await asyncio.to_thread(self._producer.flush, timeout))
        self._hand_over()
        self._expire(float("inf"))  # no tick comes any more: nobody waits for ever on what flush left
        return left

    def _poll_forever(self) -> None:
        while not self._stop.is_set():
            self._producer.poll(0.05)
            self._hand_over()

    def _schedule_tick(self, delay: float) -> None:
        assert self._loop is not None
        self._tick_at = self._loop.time() + delay
        self._tick_handle = self._loop.call_at(self._tick_at, self._tick)

    def _tick(self) -> None:
        if self._stop.is_set():
            return
        self._producer.poll(0)
        self._hand_over()
        assert self._loop is not None
        now = self._loop.time()
        self._expire(now - self._timeout_s)
        in_flight = self._in_flight
        self._schedule_tick(next_poll_in(now, in_flight[0][0] if in_flight else None,
                                         self._linger_s, len(self._producer)))

    def _expire(self, queued_before: float) -> None:
        """Drop settled records from the head of `_in_flight` and fail those queued before `queued_before`
        (loop time) still unacknowledged. This is the send timeout of the loop's own records: one check
        per tick instead of a timer per request (`settle`)."""
        in_flight = self._in_flight
        while in_flight and (in_flight[0][1].done() or in_flight[0][0] < queued_before):
            _, fut = in_flight.popleft()
            if not fut.done():
                fut.set_exception(Unavailable("Kafka did not acknowledge in time", retry_after_s=self._retry_after_s))

    def _track(self, fut: asyncio.Future[None]) -> None:
        """A record of the loop's own was queued: poll once it has lingered, unless a poll comes sooner."""
        if self._loop is None or self._stop.is_set() or fut.get_loop() is not self._loop:
            return  # another loop's request: the ticks of the loop's own records or the idle one serve it
        now = self._loop.time()
        self._in_flight.append((now, fut))
        due = now + next_poll_in(now, now, self._linger_s, 1)
        if due < self._tick_at:
            if self._tick_handle is not None:
                self._tick_handle.cancel()
            self._schedule_tick(due - now)

    def _hand_over(self) -> None:
        if not self._reports:
            return
        reports, self._reports = self._reports, []
        current = _running_loop()
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[None], KafkaError | None]]] = {}
        for report in reports:
            by_loop.setdefault(report[0].get_loop(), []).append(report)
        for loop, group in by_loop.items():
            if loop is current:
                self._resolve_all(group)
            elif not loop.is_closed():
                # one wake-up per loop per poll, however many reports it carries
                with contextlib.suppress(RuntimeError):  # closed between the check and the call
                    loop.call_soon_threadsafe(self._resolve_all, group)

    # -- callbacks (whichever thread polls) -------------------------------------------------------------
    def _on_delivery(self, fut: asyncio.Future[None], err: KafkaError | None, _msg: Message) -> None:
        if err is None:
            self._last_ack = time.monotonic()
        self._reports.append((fut, err))

    def _on_error(self, err: KafkaError) -> None:
        if err.code() in (KafkaError._ALL_BROKERS_DOWN, KafkaError._TRANSPORT, KafkaError._RESOLVE):
            self._last_down = time.monotonic()
        if err.fatal():
            # e.g. the idempotent producer's sequence desynchronised from the broker's after an outage
            # (confluentinc/librdkafka#3584): this producer refuses every record from now on
            log.error("kafka producer: fatal, it will be replaced: %s", err.str())
            self._fatal = err
            return
        log.warning("kafka producer: %s", err.str())

    def _renew(self) -> None:
        """Replace a producer that hit a fatal error by a new one (a new producer id). What the old
        one still held is purged and reported failed: those requests get 503 and their clients'
        retries carry the same idempotency keys, so the streams' dedup drops any second copy."""
        old, self._fatal = self._producer, None
        self._producer = Producer(self._config)
        if self._on_renew is not None:
            self._on_renew()
        with contextlib.suppress(KafkaException):
            old.purge()
        with contextlib.suppress(KafkaException, RuntimeError):
            old.poll(0)  # the purged records' delivery reports, each with an error
        self._hand_over()

    def _resolve_all(self, reports: list[tuple[asyncio.Future[None], KafkaError | None]]) -> None:
        for fut, err in reports:
            if fut.done():  # timed out and cancelled by `settle`
                continue
            if err is None:
                fut.set_result(None)
            else:
                fut.set_exception(_translate(err, self._retry_after_s))

    # -- publishing (event loop) -------------------------------------------------------------
    def submit(self, topic: str, key: str | bytes | None, value: bytes | None) -> asyncio.Future[None]:
        """Queue one record; the future resolves on the broker's ack, or fails with a GatewayError."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self._fatal is not None:
            self._renew()
        try:
            self._producer.produce(topic, value, key, on_delivery=partial(self._on_delivery, fut))
        except BufferError:
            fut.set_exception(Unavailable("the gateway's Kafka queue is full", retry_after_s=self._retry_after_s))
        except KafkaException as exc:
            fut.set_exception(_translate(exc.args[0], self._retry_after_s))
        else:
            self._track(fut)
        return fut

    async def publish(self, topic: str, key: str | bytes | None, value: bytes, *, label: str = "") -> None:
        await self.wait([self.submit(topic, key, value)], label=label)

    async def wait(
        self, futures: Iterable[asyncio.Future[None]], *, label: str = "", deadline: float | None = None,
    ) -> None:
        """Wait for every future, bounded by the send timeout (or `deadline`, loop time); raise the
        first failure. All futures have settled or been cancelled when this returns or raises."""
        results = await self.settle(futures, label=label, deadline=deadline)
        for result in results:
            if result is not None:
                raise result

    async def settle(
        self, futures: Iterable[asyncio.Future[None]], *, label: str = "", deadline: float | None = None,
    ) -> list[GatewayError | None]:
        """Per-future outcome (None = acked) within the bound; those not acked in time are Unavailable.

        The bound of the loop's own records is the ticker's (`_expire`: the send timeout from when each
        was queued, which `deadline` only approximates); other futures are waited for until `deadline`
        (default: the send timeout from now)."""
        futs = list(futures)
        loop = asyncio.get_running_loop()
        start = loop.time()
        if loop is self._loop and not self._stop.is_set():
            await _each(futs)
        else:
            end = start + self._timeout_s if deadline is None else deadline
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout_at(end):
                    await _each(futs)
        results: list[GatewayError | None] = []
        for fut in futs:
            if not fut.done() or fut.cancelled():
                fut.cancel()  # a late delivery report finds it done and is ignored
                results.append(Unavailable("Kafka did not acknowledge in time", retry_after_s=self._retry_after_s))
                continue
            exc = fut.exception()
            results.append(exc if isinstance(exc, GatewayError) or exc is None else
                           Unavailable("Kafka refused the record", retry_after_s=self._retry_after_s))
        if self._observe is not None:
            self._observe(label, loop.time() - start, all(r is None for r in results))
        return results

    # -- readiness ---------------------------------------------------------------------------
    def recently_acked(self, within_s: float = READY_ACK_WINDOW_S) -> bool:
        return self._last_ack > self._last_down and time.monotonic() - self._last_ack < within_s

    async def broker_reachable(self) -> bool:
        """Cheap: a recent ack proves it; otherwise a metadata request, cached for a couple of seconds."""
        if self.recently_acked():
            return True
        now = time.monotonic()
        if now - self._probe_at < READY_PROBE_CACHE_S:
            return self._probe_ok
        self._probe_at = now
        self._probe_ok = await asyncio.to_thread(self._probe)
        self._probe_at = time.monotonic()
        return self._probe_ok

    def _probe(self) -> bool:
        try:
            metadata = self._producer.list_topics(timeout=READY_PROBE_TIMEOUT_S)
        except KafkaException:
            return False
        return bool(metadata.brokers)


async def _each(futures: list[asyncio.Future[None]]) -> None:
    """Wait for every future, whatever its outcome. One by one is lighter than asyncio.wait (no
    waiter, no per-future callbacks to add and remove): they mostly resolve in one poll batch."""
    for fut in futures:
        if not fut.done():
            with contextlib.suppress(Exception):
                await fut


def _translate(err: KafkaError, retry_after_s: int) -> GatewayError:
    if err.code() == KafkaError.MSG_SIZE_TOO_LARGE:
        return BodyTooLarge("the record is larger than Kafka accepts")
    return Unavailable(f"Kafka refused the record ({err.name()})", retry_after_s=retry_after_s)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
