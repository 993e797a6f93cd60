"""`carelay keys check|reseal` (`python -m stack.keys`): retiring a PHI key of CARELAY_PHI_KEYS.

After a new key is appended to the ring (the newest seals, every key still opens), `reseal` rewrites the
stream workers' state (the `patients` and `messages` table changelogs, compacted: the latest value per
key is the state) so that no value in it is sealed with an older key: each such value is opened and
sealed again under the newest key with the binding it had (streams.decide.rekey), and the record is
written back under the same key on the same partition, so compaction keeps the new one and a worker's
recovery reads it. Values already under the newest key are left alone: a second run writes nothing,
and a run cut short is finished by running it again. It refuses while a stream worker is in the group
(a worker's later write of its in-memory record would otherwise be overwritten by an older one).

`check` counts, per topic, the values sealed with each key that is not the newest (counts and key ids,
never content): the state changelogs (reseal them), and the event topics whose records carry sealed
fields (append-only: they are never rewritten, and leave with the topic's retention). It exits 0 only
when nothing anywhere is still sealed with another key: the old key may then leave the ring.
No catalog topic keeps a sealed field for ever but those in ROTATED_BY_HAND (tests/stack/test_keys.py
keeps it so): `patient.links`, compacted, is deleted 30 days after a link's last change, and is not
rewritten (a gateway binding a link's device meanwhile would be undone).
"""
from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from schemas import contracts
from schemas.errors import PhiError
from schemas.phi import Binding, PhiCipher
from schemas.registry import registry_from_url
from schemas.settings import Settings
from schemas.topics import TOPICS, Catalog, Topic
from stack.errors import StackError
from streams.decide.records import SealedState, sealed_from_state, sealed_to_state
from streams.decide.rekey import STATE_TABLES, key_id, map_sealed

DAY_MS = 86_400_000


class KeyRotationError(StackError):
    """The re-sealing job cannot run safely (a stream worker is running)."""


@dataclass
class Census:
    """One topic: records read, and the sealed values under each key id that is not the newest."""

    topic: str
    kind: str  # "state" (re-sealed by `reseal`) or "events" (leaves with retention)
    retention_ms: int = -1
    records: int = 0
    retired: Counter[str] = field(default_factory=Counter)  # in the ring, not the newest
    unknown: Counter[str] = field(default_factory=Counter)  # not in the ring: nothing can open them
    resealed: int = 0

    @property
    def clean(self) -> bool:
        return not self.retired and not self.unknown

    def line(self) -> str:
        if self.kind == "state":
            what = "state: `carelay keys reseal` re-seals it"
        else:
            what = f"events: leave with retention ({self.retention_ms // DAY_MS} d)"
        counts = ", ".join(f"{kid}={n}" for kid, n in sorted(self.retired.items())) or "none"
        line = f"{self.topic}: {self.records} records; older keys: {counts} ({what})"
        if self.unknown:
            line += "; keys not in the ring: " + ", ".join(f"{k}={n}" for k, n in sorted(self.unknown.items()))
        if self.resealed:
            line += f"; {self.resealed} records re-sealed"
        return line


# Compacted topics whose sealed values live until someone replaces them: `check` counts them, and the
# operator rotates each record by hand (docs/security.md, "Retiring a PHI key"). Rewriting them here
# could race the gateway: a resealed endpoint written after an admin's DELETE would bring it back.
ROTATED_BY_HAND = {"webhook.endpoints": "create a new endpoint (a new secret), move the receiver, delete the old"}


def holds_sealed(value_type: str) -> bool:
    """A record of this contract can carry a sealed field (io.carelay.Sealed, directly or nested)."""
    return '"io.carelay.Sealed"' in contracts.schema_text(value_type)


def _statecodec() -> Any:
    # imported when a job runs: importing Faust runs a subprocess, and `--help` starts nothing
    from streams import statecodec

    return statecodec


def state_topics(settings: Settings) -> dict[str, type]:
    """The changelog topic of each stream table -> its record type (Faust's `<app id>-<table>-changelog`)."""
    app_id = settings.streams.app_id or f"{settings.kafka.topic_prefix}streams"  # as streams.config derives it
    return {f"{app_id}-{name}-changelog": record for name, record in STATE_TABLES.items()}


def event_topics() -> list[Topic]:
    return [t for t in TOPICS.all() if holds_sealed(t.value_type)]


def read_log(consumer: Consumer, topic: str, timeout_s: float = 60.0) -> Iterator[tuple[int, Any]]:
    """Every record of `topic` from its start to its end at the time of the call, as (partition, message)."""
    meta = consumer.list_topics(topic, timeout=10).topics.get(topic)
    if meta is None or meta.error is not None:
        return
    todo: list[TopicPartition] = []
    for p in meta.partitions:
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10, cached=False)
        if high > low:
            todo.append(TopicPartition(topic, p, low))
    if not todo:
        return
    ends = {tp.partition: consumer.get_watermark_offsets(tp, timeout=10, cached=False)[1] for tp in todo}
    consumer.assign(todo)
    open_parts = set(ends)
    idle = 0.0
    while open_parts:
        msg = consumer.poll(0.5)
        if msg is None:
            idle += 0.5
            if idle > timeout_s:
                raise StackError(f"{topic}: end of partitions {sorted(open_parts)} not reached in {timeout_s:.0f} s")
            continue
        idle = 0.0
        err = msg.error()
        if err is not None:
            if err.code() == KafkaError._PARTITION_EOF:
                open_parts.discard(msg.partition())
                continue
            raise KafkaException(err)
        partition, offset = msg.partition() or 0, msg.offset() or 0  # set on a record (not an error)
        if offset >= ends[partition]:
            open_parts.discard(partition)
            continue
        yield partition, msg
        if offset >= ends[partition] - 1:
            open_parts.discard(partition)
    consumer.unassign()


def latest(consumer: Consumer, topic: str) -> dict[tuple[int, bytes], bytes | None]:
    """A compacted topic's state: the last value per (partition, key); None for a deleted key."""
    state: dict[tuple[int, bytes], bytes | None] = {}
    for partition, msg in read_log(consumer, topic):
        state[(partition, msg.key() or b"")] = msg.value()
    return state


def _sealed_values(node: Any) -> Iterator[str]:
    """The key id of every io.carelay.Sealed inside a decoded Avro record."""
    if isinstance(node, dict):
        if {"kid", "nonce", "ct"} <= node.keys():
            yield str(node["kid"])
            return
        for value in node.values():
            yield from _sealed_values(value)
    elif isinstance(node, list):
        for value in node:
            yield from _sealed_values(value)


class KeyRotation:
    def __init__(self, settings: Settings, consumer: Consumer, producer: Producer | None = None,
                 admin: AdminClient | None = None) -> None:
        self.settings = settings
        self.cipher = PhiCipher(settings.phi_keys, accept_unbound=settings.phi_accept_unbound)
        self.ring = {kid for kid, _ in settings.phi_keys}
        self.consumer = consumer
        self.producer = producer
        self.admin = admin

    def _tally(self, census: Census, kid: str) -> None:
        if kid == self.cipher.active_kid:
            return
        (census.retired if kid in self.ring else census.unknown)[kid] += 1

    def check_state(self, topic: str, record_type: type) -> Census:
        census = Census(topic, "state")
        for value in latest(self.consumer, topic).values():
            if value is None:
                continue
            census.records += 1

            def count(field_name: str, sealed: SealedState, binding: Binding) -> SealedState:
                self._tally(census, key_id(sealed))
                return sealed

            map_sealed(_statecodec().loads(record_type, value), count)
        return census

    def check_events(self, topic: Topic, catalog: Catalog) -> Census:
        bound = catalog.by_name(topic.name(catalog.prefix))
        census = Census(bound.name, "events", topic.retention_ms)
        for _, msg in read_log(self.consumer, bound.name):
            value = msg.value()
            if value is None:
                continue
            census.records += 1
            for kid in _sealed_values(bound.codec.decode(value)):
                self._tally(census, kid)
        return census

    def check(self) -> list[Census]:
        kafka = self.settings.kafka
        found = [self.check_state(topic, record) for topic, record in state_topics(self.settings).items()]
        registry = registry_from_url(kafka.schema_registry_url)
        try:
            catalog = Catalog(kafka.topic_prefix, registry)
            return found + [self.check_events(topic, catalog) for topic in event_topics()]
        finally:
            registry.close()

    def refuse_while_workers_run(self) -> None:
        if self.admin is None:
            raise KeyRotationError("re-sealing needs an admin client to see the stream workers' group")
        group = self.settings.streams.app_id or f"{self.settings.kafka.topic_prefix}streams"
        description = self.admin.describe_consumer_groups([group])[group].result(timeout=30)
        if description.members:
            raise KeyRotationError(f"{len(description.members)} stream worker(s) in group {group}: stop the "
                                   "workers, re-seal, then start them (docs/security.md: key rotation)")

    def reseal(self, limit: int | None = None) -> list[Census]:
        """Re-seal the state changelogs' values of older keys; at most `limit` records (None: all)."""
        if self.producer is None:
            raise KeyRotationError("re-sealing needs a producer")
        self.refuse_while_workers_run()
        done: list[Census] = []
        budget = limit
        for topic, record_type in state_topics(self.settings).items():
            census = Census(topic, "state")
            for (partition, key), value in latest(self.consumer, topic).items():
                if value is None:
                    continue
                census.records += 1
                if budget is not None and census.resealed >= budget:
                    continue
                record = _statecodec().loads(record_type, value)
                fresh = map_sealed(record, self._resealer(census))
                if fresh is not record:
                    self.producer.produce(topic, key=key, value=_statecodec().dumps(fresh), partition=partition)
                    census.resealed += 1
            if self.producer.flush(60) != 0:
                raise StackError(f"{topic}: re-sealed records not acknowledged within 60 s")
            if budget is not None:
                budget -= census.resealed
            done.append(census)
        return done

    def _resealer(self, census: Census) -> Callable[[str, SealedState, Binding], SealedState]:
        def reseal(field_name: str, sealed: SealedState, binding: Binding) -> SealedState:
            kid = key_id(sealed)
            if kid == self.cipher.active_kid:
                return sealed
            if kid not in self.ring:
                census.unknown[kid] += 1  # cannot be opened: left as it is, reported
                return sealed
            opened = sealed_from_state(sealed)
            assert opened is not None
            try:
                value = self.cipher.reseal(field_name, opened, binding, binding)
            except PhiError:
                census.unknown[kid] += 1  # does not open with its binding: left as it is, reported
                return sealed
            resealed = sealed_to_state(value)
            assert resealed is not None
            return resealed

        return reseal


def _clients(settings: Settings) -> tuple[Consumer, Producer, AdminClient]:
    bootstrap = settings.kafka.bootstrap
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"{settings.kafka.topic_prefix}keys",
                         "enable.auto.commit": False, "enable.partition.eof": True,
                         "isolation.level": "read_committed"})
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True})
    return consumer, producer, AdminClient({"bootstrap.servers": bootstrap})


def main(argv: Sequence[str] | None = None, environ: dict[str, str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="carelay keys", description="Retire a PHI key: re-seal the stream state under "
                                "the newest key of CARELAY_PHI_KEYS, and count what older keys still seal.")
    sub = p.add_subparsers(dest="action", required=True)
    sub.add_parser("check", help="per topic, the values still sealed with an older key (counts only); "
                   "exit 1 while there are any")
    reseal_p = sub.add_parser("reseal", help="re-seal the stream state under the newest key (workers stopped)")
    reseal_p.add_argument("--limit", type=int, default=None, help="re-seal at most this many records this run")
    args = p.parse_args(argv)
    settings = Settings.from_env(environ)
    consumer, producer, admin = _clients(settings)
    job = KeyRotation(settings, consumer, producer, admin)
    try:
        if args.action == "reseal":
            for census in job.reseal(args.limit):
                print(census.line())
        found = job.check()
    except KeyRotationError as exc:
        print(f"carelay keys: {exc}", file=sys.stderr)
        return 2
    finally:
        consumer.close()
    for census in found:
        print(census.line())
    left = sum(sum(c.retired.values()) + sum(c.unknown.values()) for c in found)
    print(f"newest key {job.cipher.active_kid}; values under other keys: {left}")
    return 0 if left == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
