"""The partitioner every patient-scoped record follows: Kafka's murmur2, as the Java client computes it."""
from __future__ import annotations

import pytest

from streams.partitioning import partition_for, partition_for_bytes, patient_of


# Kafka's UtilsTest.testMurmur2 vectors (signed 32-bit), then & 0x7fffffff % partitions as the Java client
@pytest.mark.parametrize(("key", "signed"), [
    pytest.param(b"21", -973932308, id="21"),
    pytest.param(b"foobar", -790332482, id="foobar"),
    pytest.param(b"abc", 479470107, id="abc"),
])
def test_partitioner_is_kafkas_murmur2(key: bytes, signed: int) -> None:
    assert partition_for_bytes(key, 6) == (signed & 0x7FFFFFFF) % 6
    assert partition_for(key.decode(), 12) == (signed & 0x7FFFFFFF) % 12


@pytest.mark.parametrize(("table_key", "patient"), [
    pytest.param("rid", "rid", id="patient-record"),
    pytest.param("rid|m1", "rid", id="message-record"),
    pytest.param("rid|m1|extra", "rid", id="first-bar-only"),
])
def test_the_recipient_pseudonym_decides_the_partition(table_key: str, patient: str) -> None:
    assert patient_of(table_key) == patient
