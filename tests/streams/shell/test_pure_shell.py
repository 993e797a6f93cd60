"""The shell's own pure pieces: state codec, partitioner, delay steps, deadline heap, settings, conversions."""
from __future__ import annotations

import pytest

from schemas.errors import ConfigError
from schemas.settings import Settings
from streams import convert
from streams.agents.delay import STEPS_MS, step_index
from streams.care.loopguard import LoopState
from streams.config import StreamsConfig
from streams.decide.consent import Consent
from streams.decide.lifecycle import Outcome
from streams.decide.records import Patient, Question
from streams.partitioning import partition_for, partition_for_bytes, patient_of
from streams.runtime import DeadlineHeap
from streams.statecodec import dumps, loads
from tests.streams.decide.test_reconcile import sent_message


def test_state_records_round_trip_through_json() -> None:
    msg = sent_message()
    assert loads(type(msg), dumps(msg)) == msg
    p = Patient("clinic", Consent().apply("SMS", False, 3, "keyword"), loop=LoopState((1, 2), (3,), 4),
                question=Question("m1", 5))
    assert loads(Patient, dumps(p)) == p


def test_unknown_keys_are_dropped_and_missing_ones_take_defaults() -> None:
    assert loads(Patient, b'{"organization_id": "x", "some_future_field": 1}') == Patient("x")


def test_partitioner_is_kafkas_murmur2() -> None:
    # Kafka's UtilsTest.testMurmur2 vectors (signed 32-bit), then & 0x7fffffff % partitions as the Java client
    for key, signed in ((b"21", -973932308), (b"foobar", -790332482), (b"abc", 479470107)):
        assert partition_for_bytes(key, 6) == (signed & 0x7FFFFFFF) % 6
    assert partition_for("foobar", 12) == (-790332482 & 0x7FFFFFFF) % 12
    assert patient_of("rid|m1") == "rid" and patient_of("rid") == "rid"


@pytest.mark.parametrize(("remaining", "step"), [
    (0, 1_000), (999, 1_000), (1_000, 1_000), (9_999, 1_000), (10_000, 10_000), (119_000, 60_000),
    (1_200_000, 600_000), (3_600_000, 3_600_000), (86_400_000, 3_600_000),
])
def test_a_wait_parks_on_the_largest_step_not_longer_than_it(remaining: int, step: int) -> None:
    assert STEPS_MS[step_index(remaining)] == step


def test_deadline_heap_arms_once_and_pops_in_order() -> None:
    heap = DeadlineHeap()
    heap.arm(30, "r|b", 0)
    heap.arm(10, "r|a", 0)
    heap.arm(10, "r|a", 0)
    heap.arm(20, "r|a", 1)
    assert len(heap) == 3 and heap.next_ms() == 10
    assert heap.due(25) == [("r|a", 0), ("r|a", 1)]
    assert heap.due(25) == [] and heap.due(30) == [("r|b", 0)]


def test_deadline_heap_takes_an_earlier_time_for_an_armed_hop_and_fires_it_once() -> None:
    heap = DeadlineHeap()
    heap.arm(120, "r|a", 0)  # the delivery deadline
    heap.arm(50, "r|a", 0)   # delivered, unread: the time to read comes first
    heap.arm(90, "r|a", 0)   # later than the armed time: ignored
    assert len(heap) == 1 and heap.next_ms() == 50
    assert heap.due(100) == [("r|a", 0)]
    assert heap.due(200) == [] and len(heap) == 0  # the replaced time does not fire again
    heap.arm(300, "r|a", 0)  # once popped, the hop can be armed again
    assert heap.due(300) == [("r|a", 0)]


def test_streams_settings_parse_and_fail_by_name() -> None:
    settings = Settings.from_env({"CARELAY_RETRY_MAX_TRIES": "7", "CARELAY_LOOP_PAUSE_S": "60"})
    cfg = StreamsConfig.from_settings(settings)
    assert cfg.policy.retry.max_tries == 7 and cfg.policy.loop.pause_ms == 60_000
    assert cfg.policy.loop.cap == settings.limits.loop_cap_replies
    assert cfg.breaker.recovery_ms == settings.limits.breaker_recovery_s * 1000
    assert cfg.policy.org.per_s == settings.limits.per_org_second / settings.kafka.partitions
    assert cfg.app_id == "carelay.streams"
    with pytest.raises(ConfigError, match="CARELAY_RETRY_MAX_TRIES"):
        Settings.from_env({"CARELAY_RETRY_MAX_TRIES": "0"})
    with pytest.raises(ConfigError, match="CARELAY_ECHO_WINDOW_S"):
        Settings.from_env({"CARELAY_ECHO_WINDOW_S": "soon"})


def test_status_source_follows_the_provider_and_event_id() -> None:
    base = {"event_id": "meta:w:sent", "provider": "meta", "channel": "WHATSAPP", "provider_message_id": "w",
            "status": "sent", "occurred_at": 5, "received_at": 6}
    assert convert.status_facts(base).source == "provider"
    assert convert.status_facts({**base, "event_id": "meta:w:sent:poll"}).source == "poll"
    assert convert.status_facts({**base, "provider": convert.OWN_PROVIDER}).source == "deadline"
    assert convert.status_facts({**base, "occurred_at": None}).at_ms == 6


def test_outcome_record_carries_ids_and_codes_only() -> None:
    msg = sent_message()
    o = Outcome("m1", "failed", "sent", 0, "m1:0", "WHATSAPP", "meta", "131026", "fallback", False, 9)
    rec = convert.outcome_record(o, msg)
    assert rec["event_id"] == "m1:0:failed" and rec["recipient_id"] == "rid1" and rec["accepted_at"] == 1_000_000
    assert set(rec) >= {"organization_id", "priority", "template", "is_final", "occurred_at"}
