"""What each long-running carelay process does with its heap once it has started.

CPython's full (generation 2) garbage collection walks every container object the process holds.
Most of them are made at start-up (modules, classes, the Faust and Starlette machinery, recovered
tables) and live as long as the process, so each full collection under load re-walked them for
nothing: in `make bench` such a pause took 35-60 ms in the gateway, the p99 of an accept, and
70-80 ms in the stream worker. `gc.freeze()` moves everything alive at that moment into the
permanent generation, which the collector never walks; afterwards the same pauses measured
0.5 ms and 7 ms. Frozen objects are still freed by reference counting when dropped; only a
reference cycle among them outlives its last use, and start-up state has few.
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
