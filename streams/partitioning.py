"""The one partitioner every patient-scoped record and table entry follows: Kafka's default.

murmur2(key) & 0x7fffffff % partitions is what the Java client, aiokafka (Faust's producer) and
librdkafka's `murmur2_random` partitioner compute, so records keyed by the recipient pseudonym land
on the same partition number in every topic whoever produced them; librdkafka's own default
(`consistent_random`, CRC32) does not, which is why producers must set `partitioner=murmur2_random`.
"""
from __future__ import annotations

from functools import lru_cache

from aiokafka.partitioner import murmur2


@lru_cache(maxsize=65_536)
def partition_for(key: str, partitions: int) -> int:
    return partition_for_bytes(key.encode("utf-8"), partitions)


@lru_cache(maxsize=65_536)  # murmur2 is pure Python; a message id keys each of its several state records
def partition_for_bytes(key: bytes, partitions: int) -> int:
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def patient_of(table_key: str) -> str:
    """Table keys are `rid` or `rid|...`: the recipient pseudonym decides the partition."""
    return table_key.split("|", 1)[0]
