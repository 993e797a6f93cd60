"""Consumer lag per consumer group and topic, for Prometheus (`carelay_kafka_consumer_lag{group,topic}`
on the analytics owner's /metrics): the stream workers' group and the analytics sink's own; and the
under-replicated partitions of carelay's topics (`carelay_kafka_under_replicated_partitions{topic}`:
fewer in-sync replicas than replicas), from one metadata request per pass.

A daemon thread asks Kafka every `interval_s` for the topics' metadata, each group's committed offsets
(an OffsetFetch by a consumer of that group that never joins it) and the partitions' end offsets; a
scrape reads the last
figures and never waits for Kafka. A group or a topic Kafka did not answer for keeps no series (an
empty scrape, not a stale number). Lag is the end offset minus the committed one, summed over the
topic's partitions; a partition the group never committed counts nothing (it has not started there).
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Mapping, Sequence

from confluent_kafka import Consumer, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger("analytics.lag")
TIMEOUT_S = 5.0

Partition = tuple[str, int]


def lag_by_topic(committed: Mapping[Partition, int], ends: Mapping[Partition, int]) -> dict[str, int]:
    """End minus committed offset, summed per topic; partitions without a commit or an end are skipped."""
    lag: dict[str, int] = {}
    for tp, offset in committed.items():
        end = ends.get(tp)
        if offset < 0 or end is None:
            continue
        lag[tp[0]] = lag.get(tp[0], 0) + max(0, end - offset)
    return lag


def under_replicated(replicas: Mapping[Partition, tuple[int, int]]) -> dict[str, int]:
    """(replicas, in-sync replicas) per partition -> partitions short of in-sync replicas, per topic."""
    short: dict[str, int] = {}
    for (topic, _), (assigned, in_sync) in replicas.items():
        short[topic] = short.get(topic, 0) + (1 if in_sync < assigned else 0)
    return short


class LagWatch(Collector):
    def __init__(self, bootstrap: str, groups: Sequence[str], interval_s: float = 15.0,
                 admin: AdminClient | None = None, topic_prefix: str | None = None) -> None:
        self.groups = list(dict.fromkeys(groups))
        self.topic_prefix = topic_prefix  # None: no replication figures
        self.interval_s = interval_s
        self._bootstrap = bootstrap
        self._admin = admin or AdminClient({"bootstrap.servers": bootstrap})
        self._consumers: dict[str, Consumer] = {}
        self._lag: dict[tuple[str, str], int] = {}
        self._short: dict[str, int] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="analytics-lag", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=TIMEOUT_S * 2)
        for consumer in self._consumers.values():
            consumer.close()
        self._consumers.clear()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.refresh()
            self._stop.wait(self.interval_s)

    def refresh(self) -> dict[tuple[str, str], int]:
        """One pass over every group; the figures the next scrape reads."""
        try:
            topics = self._admin.list_topics(timeout=TIMEOUT_S).topics
        except KafkaException as exc:
            log.warning("topic metadata not read: %s", exc.args[0] if exc.args else exc)
            topics = {}
        prefix = self.topic_prefix or ""
        mine = {name: meta for name, meta in topics.items() if name.startswith(prefix) and not name.startswith("__")}
        partitions = [(name, p) for name, meta in mine.items() for p in meta.partitions]
        found: dict[tuple[str, str], int] = {}
        for group in self.groups if partitions else ():
            try:
                committed = self._committed(group, partitions)
                ends = self._ends(list(committed)) if committed else {}
            except KafkaException as exc:
                log.warning("consumer lag of %s not read: %s", group, exc.args[0] if exc.args else exc)
                continue
            found |= {(group, topic): lag for topic, lag in lag_by_topic(committed, ends).items()}
        short = under_replicated({(name, p.id): (len(p.replicas), len(p.isrs)) for name, meta in mine.items()
                                  for p in meta.partitions.values()}) if self.topic_prefix is not None else {}
        with self._lock:
            self._lag = found
            self._short = short
        return found

    def _committed(self, group: str, partitions: list[Partition]) -> dict[Partition, int]:
        """The group's committed offsets, fetched by a consumer of that group that never joins it.
        Not AdminClient.list_consumer_group_offsets: with confluent-kafka 2.16 it ends the process
        (SIGSEGV) on a broker where no group has committed yet, such as a fresh `make run`."""
        consumer = self._consumers.get(group)
        if consumer is None:
            consumer = self._consumers[group] = Consumer({
                "bootstrap.servers": self._bootstrap, "group.id": group, "enable.auto.commit": False})
        found = consumer.committed([TopicPartition(t, p) for t, p in partitions], timeout=TIMEOUT_S)
        return {(tp.topic, tp.partition): tp.offset for tp in found if tp.error is None and tp.offset >= 0}

    def _ends(self, partitions: list[Partition]) -> dict[Partition, int]:
        futures = self._admin.list_offsets({TopicPartition(t, p): OffsetSpec.latest() for t, p in partitions},
                                           request_timeout=TIMEOUT_S)
        ends: dict[Partition, int] = {}
        for tp, future in futures.items():
            try:
                ends[(tp.topic, tp.partition)] = future.result(timeout=TIMEOUT_S).offset
            except KafkaException:
                continue  # a deleted or unavailable partition: no figure rather than a wrong one
        return ends

    def collect(self) -> Iterator[GaugeMetricFamily]:
        short = GaugeMetricFamily("carelay_kafka_under_replicated_partitions", "partitions of carelay's topics "
                                  "with fewer in-sync replicas than replicas", labels=["topic"])
        with self._lock:
            for topic, count in sorted(self._short.items()):
                short.add_metric([topic], float(count))
        yield short
        family = GaugeMetricFamily("carelay_kafka_consumer_lag", "records a consumer group has still to read, per "
                                   "topic (end offset minus committed offset, summed over partitions)",
                                   labels=["group", "topic"])
        with self._lock:
            for (group, topic), lag in sorted(self._lag.items()):
                family.add_metric([group, topic], float(lag))
        yield family
