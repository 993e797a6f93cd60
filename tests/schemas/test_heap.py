"""schemas.heap.settle: start-up objects leave the collector's walks, and are still freed when dropped."""
from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from schemas import heap


class Node:
    pass


@pytest.fixture
def thawed() -> Iterator[None]:
    gc.unfreeze()  # the rest of the session keeps a collector that walks everything, as before
    yield
    gc.unfreeze()


def _walked(obj: object) -> bool:
    return any(o is obj for o in gc.get_objects())  # generations 0-2: what a collection walks


def test_settle_freezes_what_is_alive_and_not_what_comes_later(thawed):
    before = Node()
    assert _walked(before)
    assert heap.settle() > 0
    after = Node()
    assert not _walked(before)
    assert _walked(after)


def test_a_frozen_object_is_still_freed_when_dropped(thawed):
    obj = Node()
    freed = []
    ref = weakref.ref(obj, lambda _: freed.append(True))
    heap.settle()
    del obj
    assert freed and ref() is None


def test_garbage_left_by_start_up_is_collected_not_frozen(thawed):
    cycle = Node()
    cycle.me = cycle  # type: ignore[attr-defined]
    freed = []
    weakref.finalize(cycle, freed.append, True)
    del cycle
    heap.settle()
    assert freed  # unreachable cycles are collected first, so freezing does not keep them for ever
