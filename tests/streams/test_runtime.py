"""The runtime's deadline heap: each hop armed once, at its earliest time, popped in order."""
from __future__ import annotations

from streams.runtime import DeadlineHeap


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
