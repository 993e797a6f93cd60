"""Live updates: changes of the views (a new notice, a notice handled) fanned out to the browsers
connected to this process over Server-Sent Events, per organization.

Views call `publish` on their consumer threads; it hands the change to the event loop, which puts it
on each subscriber's bounded queue. A subscriber too slow to keep up is told to go (its stream ends and
the browser reconnects to a fresh page state) rather than letting its queue grow.
"""
from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

from gateway.console.inbox import Handling
from gateway.staff import Notice

QUEUE_SIZE = 256
OVERFLOW = None  # put on a queue that was full: the stream ends

Change = Notice | Handling


@dataclass(eq=False)
class Subscriber:
    organization_id: str
    queue: asyncio.Queue[Change | None] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE + 1))


class Hub:
    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._subs: dict[str, set[Subscriber]] = {}

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def publish(self, organization_id: str, change: Change) -> None:
        """Thread-safe; a no-op before the loop is bound or when nobody of the organization listens."""
        loop = self._loop
        if loop is None or not self._subs.get(organization_id):
            return
        with contextlib.suppress(RuntimeError):  # the loop closed at shutdown
            loop.call_soon_threadsafe(self._fan, organization_id, change)

    def notice(self, n: Notice) -> None:
        self.publish(n.organization_id, n)

    def handling(self, h: Handling) -> None:
        self.publish(h.organization_id, h)

    def _fan(self, organization_id: str, change: Change) -> None:
        for sub in list(self._subs.get(organization_id, ())):
            if sub.queue.qsize() >= QUEUE_SIZE:
                self.unsubscribe(sub)
                sub.queue.put_nowait(OVERFLOW)
            else:
                sub.queue.put_nowait(change)

    def subscribe(self, organization_id: str) -> Subscriber:
        sub = Subscriber(organization_id)
        self._subs.setdefault(organization_id, set()).add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        subs = self._subs.get(sub.organization_id)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._subs[sub.organization_id]

    def listeners(self) -> int:
        return sum(len(s) for s in self._subs.values())
