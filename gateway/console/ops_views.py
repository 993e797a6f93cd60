"""The operations page's views (gateway.topicview: every partition from the beginning, no group): circuit
transitions per channel instance, dead letters per organization with their counts by reason, and the
replays already made; and the pulse that tells open operations pages of an organization that one changed.

Dead letters keep the original record's bytes (a replay puts them back), so a view holds at most
`MAX_HELD` per organization, the newest; the counts by reason are kept as records arrive and stay exact.
"""
from __future__ import annotations

import asyncio
import bisect
import contextlib
import threading
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from connectors.base import ChannelInstance
from gateway.console.operations import DeadLetter, Instance, Replay, Transition, organization_of
from gateway.console.rates import LagFigures, OutcomeRateView
from gateway.topicview import TopicView
from schemas.codec import AvroCodec
from schemas.settings import Settings
from schemas.topics import Catalog

KEPT_TRANSITIONS = 20  # per instance
MAX_HELD = 20_000  # dead letters per organization kept whole (with their original bytes)
NO_ORGANIZATION = ""  # dead letters whose original record names none (it did not decode)

Poke = Callable[[str], None]  # an organization's operations changed (called on a consumer thread)


class Pulse:
    """Open operations pages per organization on this process, each woken (at most once queued) by a change."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._subs: dict[str, set[asyncio.Queue[None]]] = {}

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def poke(self, organization_id: str) -> None:
        loop = self._loop
        if loop is None or not self._subs.get(organization_id):
            return
        with contextlib.suppress(RuntimeError):  # the loop closed at shutdown
            loop.call_soon_threadsafe(self._wake, organization_id)

    def _wake(self, organization_id: str) -> None:
        for q in self._subs.get(organization_id, ()):
            if q.empty():  # changes coalesce: one render shows them all
                q.put_nowait(None)

    def subscribe(self, organization_id: str) -> asyncio.Queue[None]:
        q: asyncio.Queue[None] = asyncio.Queue(1)
        self._subs.setdefault(organization_id, set()).add(q)
        return q

    def unsubscribe(self, organization_id: str, q: asyncio.Queue[None]) -> None:
        subs = self._subs.get(organization_id)
        if subs is not None:
            subs.discard(q)
            if not subs:
                del self._subs[organization_id]


class CircuitView(TopicView):
    name = "circuit view"

    def __init__(self, bootstrap: str, topic: str, codec: AvroCodec, organization_of: Mapping[str, str],
                 poke: Poke) -> None:
        super().__init__(bootstrap, topic, codec)
        self._org_of = organization_of  # channel instance id -> organization
        self._poke = poke
        self._by_instance: dict[str, list[Transition]] = {}
        self._lock = threading.Lock()

    def apply(self, key: bytes | None, record: dict[str, Any] | None) -> None:
        if record is None:
            return
        t = Transition.of(record)
        with self._lock:
            held = self._by_instance.setdefault(t.instance_id, [])
            bisect.insort(held, t, key=lambda x: x.at_ms)  # several workers publish: keep them in time order
            del held[:-KEPT_TRANSITIONS]
        org = self._org_of.get(t.instance_id)
        if org is not None:
            self._poke(org)

    def transitions(self) -> dict[str, tuple[Transition, ...]]:
        with self._lock:
            return {k: tuple(v) for k, v in self._by_instance.items()}


class DeadLetterView(TopicView):
    name = "dead-letter view"

    def __init__(self, bootstrap: str, topic: str, codec: AvroCodec,
                 organization_of: Callable[[str, bytes | None], str | None], poke: Poke,
                 max_held: int = MAX_HELD) -> None:
        super().__init__(bootstrap, topic, codec)
        self._org_of = organization_of  # (source topic, original value) -> organization, read from the record
        self._poke = poke
        self._max_held = max_held
        self._held: dict[str, deque[DeadLetter]] = {}
        self._by_id: dict[str, DeadLetter] = {}
        self._counts: dict[str, Counter[str]] = {}
        self._lock = threading.Lock()

    def receive(self, msg: Any) -> None:
        value = msg.value()
        if value is None:
            return
        rec = self.decode(value)
        if rec is not None:
            self.add(self.letter(f"{msg.partition()}-{msg.offset()}", rec))

    def letter(self, dead_letter_id: str, rec: Mapping[str, Any]) -> DeadLetter:
        return DeadLetter(dead_letter_id, self._org_of(str(rec["source_topic"]), rec.get("value")),
                          str(rec["source_topic"]), int(rec["source_partition"]), int(rec["source_offset"]),
                          rec.get("key"), rec.get("value"), str(rec["reason"]), rec.get("detail"),
                          rec.get("message_id"), int(rec["failed_at"]))

    def add(self, d: DeadLetter) -> None:
        org = d.organization_id or NO_ORGANIZATION
        with self._lock:
            if d.dead_letter_id in self._by_id:
                return
            held = self._held.setdefault(org, deque())
            if len(held) >= self._max_held:
                self._by_id.pop(held.popleft().dead_letter_id, None)
            held.append(d)
            self._by_id[d.dead_letter_id] = d
            self._counts.setdefault(org, Counter())[d.reason] += 1
        if d.organization_id:
            self._poke(d.organization_id)

    def of_organization(self, organization_id: str) -> list[DeadLetter]:
        """Held dead letters, oldest first (by when they failed)."""
        with self._lock:
            held = list(self._held.get(organization_id, ()))
        held.sort(key=lambda d: (d.failed_at_ms, d.dead_letter_id))
        return held

    def counts(self, organization_id: str) -> dict[str, int]:
        with self._lock:
            return dict(self._counts.get(organization_id, {}))

    def get(self, organization_id: str, dead_letter_id: str) -> DeadLetter | None:
        with self._lock:
            d = self._by_id.get(dead_letter_id)
        return d if d is not None and d.organization_id == organization_id else None


class ReplayView(TopicView):
    name = "dead-letter replay view"

    def __init__(self, bootstrap: str, topic: str, codec: AvroCodec, poke: Poke) -> None:
        super().__init__(bootstrap, topic, codec)
        self._poke = poke
        self._replays: dict[str, Replay] = {}
        self._lock = threading.Lock()

    def apply(self, key: bytes | None, record: dict[str, Any] | None) -> None:
        if record is None:
            if key is not None:
                with self._lock:
                    self._replays.pop(key.decode("utf-8", "replace"), None)
            return
        self.record(Replay.of(record))

    def record(self, r: Replay) -> None:
        """Also called by the process that replayed, once acked: its own next page refuses a second one."""
        with self._lock:
            first = r.dead_letter_id not in self._replays
            if first:
                self._replays[r.dead_letter_id] = r
        if first and r.organization_id:
            self._poke(r.organization_id)

    def get(self, dead_letter_id: str) -> Replay | None:
        with self._lock:
            return self._replays.get(dead_letter_id)

    def all(self) -> dict[str, Replay]:
        with self._lock:
            return dict(self._replays)


def organization_reader(catalog: Catalog) -> Callable[[str, bytes | None], str | None]:
    """(source topic, original value) -> the organization its record names, or None (undecodable, or a
    topic this catalog does not hold). A delayed record is read through to the record it carries."""
    def read(topic_name: str, value: bytes | None, depth: int = 0) -> str | None:
        if value is None or depth > 1:
            return None
        try:
            rec = catalog.by_name(topic_name).codec.decode(value)
        except Exception:  # KeyError, ContractError, RegistryError: what made it a dead letter, often
            return None
        if "target_topic" in rec and isinstance(rec.get("value"), bytes):
            return read(str(rec["target_topic"]), rec["value"], depth + 1)
        return organization_of(rec)

    return read


class OpsViews:
    """The three views and the pulse, built, started and closed with the console (gateway.console.context)."""

    def __init__(self, bootstrap: str, catalog: Catalog, directory: Iterable[ChannelInstance],
                 groups: Mapping[str, str] | None = None) -> None:
        self.instances = tuple(Instance(i.id, i.organization_id, i.channel, i.provider) for i in directory)
        self.pulse = Pulse()
        self.circuits = CircuitView(bootstrap, catalog.circuit.name, catalog.circuit.codec,
                                    {i.id: i.organization_id for i in self.instances}, self.pulse.poke)
        self.dead_letters = DeadLetterView(bootstrap, catalog.dead_letter.name, catalog.dead_letter.codec,
                                           organization_reader(catalog), self.pulse.poke)
        self.replays = ReplayView(bootstrap, catalog.deadletter_replays.name, catalog.deadletter_replays.codec,
                                  self.pulse.poke)
        # the last hour only; not in `loaded` (a replay must not wait for it), and no pulse: a busy hour would
        # re-render every open page per outcome, so the page's periodic re-render shows it
        self.rates = OutcomeRateView(bootstrap, catalog.outcomes.name, catalog.outcomes.codec)
        self.lag = LagFigures(bootstrap, groups or {}, catalog.prefix)

    @property
    def views(self) -> tuple[TopicView, ...]:
        return self.circuits, self.dead_letters, self.replays

    @property
    def loaded(self) -> bool:
        return all(v.loaded for v in self.views)

    def start(self) -> None:
        self.pulse.bind(asyncio.get_running_loop())
        for v in (*self.views, self.rates):
            v.start()

    def close(self) -> None:
        for v in (*self.views, self.rates):
            v.close()
        self.lag.close()


def consumer_groups(settings: Settings) -> dict[str, str]:
    """The consumer groups whose lag the page shows: the stream workers' (streams/config.py names it so)
    and the analytics sink's."""
    k = settings.kafka
    return {settings.streams.app_id or f"{k.topic_prefix}streams": "streams",
            settings.analytics.group_id or f"{k.topic_prefix}analytics": "analytics"}
