"""Everything an agent needs besides its tables, built once when the worker starts: the topic
catalog with its codecs, PHI cipher and pseudonyms, channel directory, connectors, circuit breakers,
metrics, the clock, and the output path (produce, then wait for the broker's acknowledgement).
"""
from __future__ import annotations

import base64
import hashlib
import heapq
import hmac
import json
import random
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from connectors.base import ChannelInstance, OutboundMessage
from connectors.factory import Connectors
from connectors.instances import ChannelDirectory, load_directory
from schemas.phi import PhiCipher, Pseudonymizer, binding_of
from schemas.registry import registry_from_url
from schemas.template_feed import TemplateFeed
from schemas.templates import TemplateCatalog
from schemas.topics import BoundTopic, Catalog
from streams.breakers import Breakers
from streams.care.clock import QuietHours
from streams.care.keywords import fold
from streams.care.loopguard import SentText, template_pattern
from streams.config import StreamsConfig
from streams.decide.dedup import fingerprint as keyed_fingerprint
from streams.decide.ratelimit import Bucket, Limit
from streams.decide.routing import Instance
from streams.decide.world import World
from streams.metrics import Metrics
from streams.partitioning import partition_for
from streams.summary import Summary

Record = tuple[str, bytes | None, bytes | None, int | None]  # topic, key, value (None: tombstone), partition
SendMany = Callable[[list[Record]], Awaitable[None]]
SENT_TEXTS_KEPT = 4


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass
class Out:
    """Records a batch will produce: (topic, key, value, partition)."""

    records: list[Record] = field(default_factory=list)

    def add(self, topic: BoundTopic, key: bytes | None, record: Mapping[str, Any], partition: int | None) -> bytes:
        value = topic.codec.encode(record if isinstance(record, dict) else dict(record))
        self.records.append((topic.name, key, value, partition))
        return value

    def raw(self, topic_name: str, key: bytes | None, value: bytes, partition: int | None) -> None:
        self.records.append((topic_name, key, value, partition))


class Runtime:
    def __init__(self, config: StreamsConfig, *, clock: Callable[[], int] = now_ms,
                 directory: ChannelDirectory | None = None) -> None:
        s = config.settings
        self.config = config
        self.clock = clock
        self.metrics = Metrics()
        self.summary = Summary()  # the per-minute log line (streams.summary)
        self.catalog = Catalog(s.kafka.topic_prefix, registry_from_url(s.kafka.schema_registry_url))
        self.cipher = PhiCipher(s.phi_keys, accept_unbound=s.phi_accept_unbound)
        self.pseudonymize = Pseudonymizer(s.pseudonym_key_bytes)
        # a separate key for body fingerprints and echo digests, derived so no new secret is needed
        self.digest_key = hmac.new(s.pseudonym_key_bytes, b"carelay.streams.digest", hashlib.sha256).digest()
        # the seeds, then the templates topic's records over them (started with the worker: start_feeds)
        self.templates = TemplateCatalog.from_file()
        self.template_feed = TemplateFeed(s.kafka.bootstrap, self.catalog.templates.name,
                                          self.catalog.templates.codec, self.templates)
        self.directory = directory or load_directory(s)
        self.breakers = Breakers(config.breaker, clock, self.metrics)
        self.connectors: Connectors | None = None  # bound to the producer at start (in-app publishes)
        self.shared_buckets: dict[int, dict[str, Bucket]] = {}  # partition -> its share of org / sender rates
        self.sent_texts: dict[str, deque[SentText]] = defaultdict(lambda: deque(maxlen=SENT_TEXTS_KEPT))
        self.rand = random.Random()
        # provider message id -> table key `rid|message_id`, for callbacks without our references;
        # derived from the message records (the dispatcher adds, the sweeper rebuilds and prunes)
        self.provider_index: dict[str, str] = {}
        self.deadlines = DeadlineHeap()
        self._send_many: SendMany | None = None

    # -- wiring done by the app once its producer exists --------------------------------------
    def bind(self, send_many: SendMany) -> None:
        self._send_many = send_many

        async def publish_inapp(key: bytes, record: dict[str, Any]) -> Any:
            out = Out()
            out.add(self.catalog.inapp, key, record, self.partition(key.decode()))
            await self.emit(out)

        self.connectors = Connectors.from_settings(self.config.settings, publish_inapp, self.cipher, self.templates)

    async def send_all(self, records: list[Record]) -> None:
        """Produce `records` and wait until the broker acknowledged every one."""
        if records:
            assert self._send_many is not None, "Runtime.bind() was not called"
            await self._send_many(records)

    async def emit(self, out: Out) -> None:
        records, out.records = out.records, []
        await self.send_all(records)

    # -- helpers ------------------------------------------------------------------------------
    def now(self) -> int:
        return self.clock()

    def partition(self, rid: str) -> int:
        return partition_for(rid, self.config.partitions)

    def digest(self, *parts: str) -> str:
        return keyed_fingerprint(self.digest_key, parts)

    def instance(self, instance_id: str) -> ChannelInstance:
        return self.directory.get(instance_id)

    def world(self, now: int | None = None) -> World:
        return World(now if now is not None else self.now(), self.config.policy, self._instances,
                     self.breakers.is_open, self.breakers.reopens_at, self._instance_limit, self._quiet,
                     self.templates.whatsapp_status)

    def _quiet(self, org: str) -> tuple[str, QuietHours]:
        zone, (start, end) = self.config.settings.care.for_org(org)
        return zone, QuietHours(start, end)

    def _instances(self, org: str, channel: str) -> list[Instance]:
        return [Instance(i.id, i.channel, i.provider) for i in self.directory.for_channel(org, channel)]

    def _instance_limit(self, instance_id: str) -> Limit:
        return Limit.share(self.directory.get(instance_id).per_second, self.config.partitions)

    # -- PHI: opened only here, only in memory -----------------------------------------------
    def fingerprint(self, rec: Mapping[str, Any]) -> str:
        content = rec["content"]
        bound = binding_of("SendRequest", rec)
        params = self.cipher.open_optional("params", content.get("params"), bound)
        text = self.cipher.open_optional("text", content.get("text"), bound)
        return self.digest(self.cipher.open("recipient", rec["recipient"], bound), ",".join(rec["channels"]),
                           str(content.get("template")), str(content.get("language")), params or "", text or "",
                           str(rec.get("priority")), str(rec.get("send_at")))

    def outbound(self, cmd: Mapping[str, Any], asks: str | None) -> OutboundMessage:
        content = cmd["content"]
        bound = binding_of("DispatchCommand", cmd)  # its SendRequest's: the message id
        params_text = self.cipher.open_optional("params", content.get("params"), bound)
        return OutboundMessage(
            message_id=cmd["message_id"], attempt_id=cmd["attempt_id"], organization_id=cmd["organization_id"],
            recipient_id=cmd["recipient_id"], to=self.cipher.open("recipient", cmd["recipient"], bound),
            channel=cmd["channel"], language=content.get("language") or "es", template=content.get("template"),
            params=json.loads(params_text) if params_text else {},
            text=self.cipher.open_optional("text", content.get("text"), bound), use_template=cmd["use_template"],
            asks=asks, callback_url=self.config.settings.gateway.public_url or None,
        )

    def remember_sent(self, rid: str, msg: OutboundMessage, now: int) -> None:
        """What we just sent, for a few seconds, to recognise it if it comes straight back (echo)."""
        digest = self.digest(fold(msg.text)) if msg.text else None
        pattern = _pattern(self.templates, msg.template, msg.language) if msg.template else None
        self.sent_texts[rid].append(SentText(now, digest, pattern))

    def recent_sent(self, rid: str, now: int) -> tuple[SentText, ...]:
        kept = self.sent_texts.get(rid)
        if not kept:
            return ()
        window = self.config.policy.loop.echo_ms
        fresh = tuple(s for s in kept if now - s.at_ms <= window)
        if not fresh:
            del self.sent_texts[rid]  # keep the memory bounded by recent activity
        return fresh


class DeadlineHeap:
    """Times to look at a record, soonest first, one per (key, hop): arming an earlier time replaces
    the armed one, a later one is ignored until that one has fired. The time itself is durable in the
    record, so the heap only says when to look, and its owner arms it again from the table after a
    restart or a rebalance. It holds a hop's delivery deadline or an urgent notice's time to read
    (key `rid|message_id` and the hop number: Hop.deadline_ms, Hop.voice_at_ms, `Runtime.deadlines`,
    re-armed by the reconciliation sweep), or a patient's next due time (key `rid`, hop 0: an AI
    request's deadline, the next reminder; streams.agents.base.PatientDeadlines)."""

    def __init__(self) -> None:
        self._heap: list[tuple[int, str, int]] = []
        self._armed: dict[tuple[str, int], int] = {}

    def arm(self, deadline_ms: int, key: str, hop: int = 0) -> None:
        armed = self._armed.get((key, hop))
        if armed is None or deadline_ms < armed:
            self._armed[(key, hop)] = deadline_ms
            heapq.heappush(self._heap, (deadline_ms, key, hop))

    def due(self, now_ms: int) -> list[tuple[str, int]]:
        found = []
        while self._heap and self._heap[0][0] <= now_ms:
            at, key, hop = heapq.heappop(self._heap)
            if self._armed.get((key, hop)) == at:  # else replaced by an earlier time, already popped
                del self._armed[(key, hop)]
                found.append((key, hop))
        return found

    def next_ms(self) -> int | None:
        return self._heap[0][0] if self._heap else None

    def clear(self) -> None:
        self._heap.clear()
        self._armed.clear()

    def __len__(self) -> int:
        return len(self._armed)


@lru_cache(maxsize=256)
def _pattern(templates: TemplateCatalog, template: str, language: str) -> str | None:
    try:
        return template_pattern(templates.get(template).rendering(language).sms)
    except Exception:  # an unknown template or language: nothing to match
        return None


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(text: str) -> bytes:
    return base64.b64decode(text)
