"""process.heap.settle: start-up objects leave the collector's walks, and are still freed when dropped.
Each test starts and ends with a thawed heap (tests/conftest.py)."""
from __future__ import annotations

import gc
import weakref

from process import heap


class Node:
    pass


def _walked(obj: object) -> bool:
    return any(o is obj for o in gc.get_objects())  # generations 0-2: what a collection walks


def test_settle_freezes_what_is_alive_and_not_what_comes_later():
    before = Node()
    assert _walked(before)
    assert heap.settle() > 0
    after = Node()
    assert not _walked(before)
    assert _walked(after)


def test_a_frozen_object_is_still_freed_when_dropped():
    obj = Node()
    freed = []
    ref = weakref.ref(obj, lambda _: freed.append(True))
    heap.settle()
    del obj
    assert freed and ref() is None


def test_garbage_left_by_start_up_is_collected_not_frozen():
    cycle = Node()
    cycle.me = cycle  # type: ignore[attr-defined]
    freed = []
    weakref.finalize(cycle, freed.append, True)
    del cycle
    heap.settle()
    assert freed  # unreachable cycles are collected first, so freezing does not keep them for ever
