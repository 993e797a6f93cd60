"""The worker's hot-path shortcuts give what the slow paths gave: cached metric children, the cached
partitioner, the reminder due-time index."""
from __future__ import annotations

from prometheus_client import CollectorRegistry

from streams.agents.appointments import next_reminder_ms
from streams.agents.base import PatientDeadlines
from streams.care.schedule import Kind, Planned, Slot, SlotState
from streams.decide.records import Patient, Reminders
from streams.metrics import Metrics
from streams.partitioning import partition_for_bytes


def test_cached_metric_children_count_like_labels() -> None:
    m = Metrics(CollectorRegistry())
    m.decide("intake", "accepted")
    m.decide("intake", "accepted")
    m.decide("intake", "duplicate")
    assert m.child(m.decisions, "intake", "accepted") is m.decisions.labels("intake", "accepted")
    value = m.registry.get_sample_value
    assert value("carelay_streams_decisions_total", {"agent": "intake", "outcome": "accepted"}) == 2
    assert value("carelay_streams_decisions_total", {"agent": "intake", "outcome": "duplicate"}) == 1
    m.child(m.events, "intake").inc(3)  # same label values, another metric: its own child
    assert value("carelay_streams_events_total", {"agent": "intake"}) == 3


def test_cached_partitioner_stays_murmur2() -> None:
    for key, signed in ((b"21", -973932308), (b"foobar", -790332482)):
        for _ in range(2):
            assert partition_for_bytes(key, 6) == (signed & 0x7FFFFFFF) % 6


def plan(aid: str, *slots: tuple[int, SlotState]) -> Reminders:
    planned = Planned(aid, "org", "rid", Kind.BOOKED, 10_000_000, "UTC", "es", None, 0,
                      tuple(Slot(f"s{i}", 60, due, state) for i, (due, state) in enumerate(slots)))
    return Reminders(planned, ("k", "n", "c"))


def test_reminder_index_holds_each_patients_soonest_pending_reminder() -> None:
    index = PatientDeadlines(next_reminder_ms, 6)
    patient = Patient("org", appointments=(plan("a1", (5_000, SlotState.SENT), (9_000, SlotState.PENDING)),
                                           plan("a2", (7_000, SlotState.PENDING))))
    index.arm("rid", patient)
    index.arm("idle", Patient("org", appointments=(plan("a3", (1_000, SlotState.CANCELLED)),)))
    index.arm("none", Patient("org"))
    heap = index.heap
    assert len(heap) == 1 and heap.next_ms() == 7_000
    index.arm("early", Patient("org", appointments=(plan("a4", (2_000, SlotState.PENDING)),)))
    assert heap.next_ms() == 2_000 and heap.due(2_000) == [("early", 0)]
    assert heap.due(6_999) == [] and heap.due(7_000) == [("rid", 0)] and len(heap) == 0
