"""The webhook process: fan-out (pipeline events -> one WebhookDelivery per subscribed endpoint) and
delivery (one lane per endpoint, so a slow or dead endpoint only ever waits on itself).

A process of its own rather than a Faust agent: HTTP calls to clinics' servers take seconds and fail for
hours, and the patient-keyed worker must never wait on them. Retries still go through the delay topics
the worker forwards (`DelayedRecord` back to `webhook.deliveries`), so nothing waits in memory for long
and a restart loses nothing: offsets are committed only below the oldest record not yet delivered, held
or dead-lettered (at-least-once; receivers deduplicate by `webhook-id`).
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
from confluent_kafka import Consumer, TopicPartition

from schemas.phi import Binding, PhiCipher
from schemas.topics import BoundTopic, Catalog
from streams import convert
from streams.decide import webhooks as wh
from streams.webhooks import attempts
from streams.webhooks.kafka import Directory, Offsets, Sender

log = logging.getLogger("carelay.webhooks")
# consumer groups, after the topic prefix (`carelay.webhooks-fanout`): stacks sharing a broker never share one
FANOUT_GROUP = "webhooks-fanout"
DELIVERY_GROUP = "webhooks-delivery"


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True)
class Options:
    bootstrap: str
    timeout_s: float = 10.0  # one POST; a slower endpoint counts as failed and is retried later


class WebhookService:
    def __init__(self, options: Options, catalog: Catalog, cipher: PhiCipher) -> None:
        self.options, self.catalog, self.cipher = options, catalog, cipher
        self.directory = Directory(options.bootstrap, catalog.webhook_endpoints, cipher)
        self.sender = Sender(options.bootstrap)
        self.http = httpx.AsyncClient(timeout=options.timeout_s, follow_redirects=False)
        self.gates: dict[str, wh.Gate] = {}
        self.lanes: dict[str, asyncio.Queue[Any]] = {}
        self.offsets = Offsets()
        self.delivered: dict[tuple[str, str], int] = {}  # (endpoint, subject) -> highest sequence sent
        self._tasks: list[asyncio.Task[None]] = []

    def _consumer(self, group: str, topics: list[str]) -> Consumer:
        c = Consumer({"bootstrap.servers": self.options.bootstrap, "group.id": self.catalog.prefix + group,
                      "enable.auto.commit": False,
                      "auto.offset.reset": "earliest", "isolation.level": "read_committed"})
        c.subscribe(topics)
        return c

    async def run(self) -> None:
        self.directory.start()
        while not self.directory.loaded.is_set():
            await asyncio.sleep(0.1)
        log.info("webhook endpoints loaded: %d", len(self.directory.endpoints))
        await asyncio.gather(self.fan_out(), self.deliver())

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        self.directory.close()
        self.sender.close()
        await self.http.aclose()

    # -- fan-out -------------------------------------------------------------------------------------
    async def fan_out(self) -> None:
        c = self.catalog
        sources = [c.message_state, c.appointment_events, c.staff_notifications, c.inbound]
        by_name = {t.name: t for t in sources}
        consumer = self._consumer(FANOUT_GROUP, list(by_name))
        try:
            while True:
                msgs = await asyncio.to_thread(consumer.consume, 200, 0.2)
                out: list[tuple[str, bytes | None, bytes]] = []
                for msg in msgs:
                    value = msg.value()
                    if msg.error() or value is None:
                        continue
                    out += self.addressed(by_name[msg.topic() or ""], value, int(msg.timestamp()[1]))
                if out:
                    await self.sender.send(out)
                if msgs:
                    await asyncio.to_thread(consumer.commit, asynchronous=False)
        finally:
            consumer.close()

    def addressed(self, topic: BoundTopic, value: bytes, at_ms: int) -> list[tuple[str, bytes | None, bytes]]:
        """The WebhookDelivery records one pipeline record makes, keyed by endpoint."""
        try:
            rec = topic.codec.decode(value)
        except Exception as exc:  # not ours to judge: the pipeline's own agents dead-letter it
            log.warning("webhook fan-out skipped an undecodable record (%s)", type(exc).__name__)
            return []
        event = self.event(topic, rec, at_ms)
        if event is None:
            return []
        out: list[tuple[str, bytes | None, bytes]] = []
        for endpoint in wh.subscribers(self.directory.all(), event):
            did = wh.delivery_id(endpoint, event)
            sealed = self.cipher.seal("webhook_body", orjson.dumps(wh.body(endpoint, event)).decode(),
                                      Binding(endpoint.organization_id, did))
            record = {"delivery_id": did, "endpoint_id": endpoint.endpoint_id,
                      "organization_id": endpoint.organization_id, "event_type": event.event_type,
                      "subject": event.subject, "sequence": event.sequence, "body": sealed, "created_at": now_ms(),
                      "attempt": 0, "first_failed_at": None, "parked": False}
            out.append((self.catalog.webhook_deliveries.name, endpoint.endpoint_id.encode(),
                        self.catalog.webhook_deliveries.codec.encode(record)))
        return out

    def event(self, topic: BoundTopic, rec: dict[str, Any], at_ms: int) -> wh.Event | None:
        c = self.catalog
        if topic is c.message_state:
            return wh.from_state(rec, convert.ms(rec.get("updated_at")) or at_ms)
        if topic is c.inbound:
            return wh.from_inbound(convert_times(rec), self._text(rec, "event_id"))
        return wh.from_care(convert_times(rec), self._text(rec, "event_id"))

    def _text(self, rec: dict[str, Any], id_field: str) -> str | None:
        """The patient's words, opened only if some endpoint of the organization may receive them."""
        org, sealed = rec.get("organization_id"), rec.get("text")
        if not org or sealed is None or not any(e.include_phi and e.organization_id == org
                                                for e in self.directory.all()):
            return None
        try:
            return self.cipher.open("text", sealed, Binding(org, rec[id_field]))
        except Exception:
            return None

    # -- delivery ------------------------------------------------------------------------------------
    async def deliver(self) -> None:
        topic = self.catalog.webhook_deliveries
        consumer = self._consumer(DELIVERY_GROUP, [topic.name])
        committer = asyncio.create_task(self._commit_loop(consumer, topic.name))
        self._tasks.append(committer)
        try:
            while True:
                for msg in await asyncio.to_thread(consumer.consume, 200, 0.2):
                    if msg.error() or msg.value() is None:
                        continue
                    self.offsets.took(msg.partition() or 0, msg.offset() or 0)
                    endpoint_id = (msg.key() or b"").decode()
                    lane = self.lanes.get(endpoint_id)
                    if lane is None:
                        lane = self.lanes[endpoint_id] = asyncio.Queue()
                        self._tasks.append(asyncio.create_task(self._lane(endpoint_id, lane)))
                    lane.put_nowait(msg)
        finally:
            committer.cancel()
            consumer.close()

    async def _commit_loop(self, consumer: Consumer, name: str) -> None:
        committed: dict[int, int] = {}
        while True:
            await asyncio.sleep(0.5)
            ready = {p: o for p, o in self.offsets.committable().items() if committed.get(p) != o}
            if ready:
                with contextlib.suppress(Exception):  # a rebalance in between: the next round commits
                    await asyncio.to_thread(consumer.commit, offsets=[TopicPartition(name, p, o)
                                                                      for p, o in ready.items()], asynchronous=False)
                    committed.update(ready)

    async def _lane(self, endpoint_id: str, lane: asyncio.Queue[Any]) -> None:
        """One endpoint's records, one at a time, in the order read."""
        while True:
            msg = await lane.get()
            try:
                await self.handle(endpoint_id, msg.value())
            except Exception:  # the record stays uncommitted: read again after a restart
                log.exception("webhook delivery failed unexpectedly")
                continue
            self.offsets.finished(msg.partition() or 0, msg.offset() or 0)

    async def handle(self, endpoint_id: str, value: bytes) -> None:
        await attempts.handle(self, endpoint_id, value)


def convert_times(rec: dict[str, Any]) -> dict[str, Any]:
    out = dict(rec)
    for name in ("occurred_at", "received_at"):
        if name in out:
            out[name] = convert.ms(out[name])
    return out
