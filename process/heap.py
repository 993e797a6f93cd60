"""What each long-running carelay process does with its heap once it has started.

CPython's full (generation 2) garbage collection walks every container object the process holds,
most of them made at start-up and alive as long as the process: tens of milliseconds of pause under
load (docs/benchmarks.md). `gc.freeze()` moves everything alive at that moment into the permanent
generation, which the collector never walks. Frozen objects are still freed by reference counting;
only a reference cycle among them outlives its last use, and start-up state has few.
"""
from __future__ import annotations

import gc


def settle() -> int:
    """Collect what start-up left behind, then freeze the rest out of later full collections.
    Returns how many objects are frozen (all calls so far). Safe to call again (after a worker
    recovered its tables, say): each call freezes what has been made since."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
