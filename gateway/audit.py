"""AuditRecords for every authenticated request and every refusal: who, what, which resource, outcome.

Never PHI: the actor is a key id (never the key), a provider name or "anonymous"; resources are
message ids and route templates. Allowed actions are audited together with their own record and
the request waits for both acks (no access without a trail); refusals are audited without waiting,
since the caller is refused either way, and a lost one is counted in a metric.

Accepted provider callbacks are not an access by a person or an API key: each one is already a
durable WebhookEnvelope (id, provider, kind, received time) on `webhooks.raw`. They are tallied
(`tally`) and audited as one record per provider, action, route, organization and remote address
per `TALLY_WINDOW_S`, with the number of requests and items; a refused callback is still audited
on its own, at once.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from gateway.auth import ApiKey
from gateway.publisher import Publisher
from schemas.ids import uuid4_str
from schemas.topics import BoundTopic

log = logging.getLogger(__name__)

ALLOWED, DENIED, REJECTED, ERROR = "allowed", "denied", "rejected", "error"
TALLY_WINDOW_S = 1.0

_TallyKey = tuple["Actor", str, str | None, str | None]  # actor, action, resource, remote address


@dataclass(frozen=True)
class Actor:
    name: str
    role: str | None = None
    organization_id: str | None = None

    @classmethod
    def of(cls, key: ApiKey) -> Actor:
        return cls(key.key_id, key.role.value, key.organization_id)


ANONYMOUS = Actor("anonymous")


class Auditor:
    def __init__(self, publisher: Publisher, topic: BoundTopic, on_lost: Callable[[], None] | None = None,
                 tally_window_s: float = TALLY_WINDOW_S) -> None:
        self._publisher = publisher
        self._topic = topic
        self._on_lost = on_lost
        self._tally_window_s = tally_window_s
        self._tally: dict[_TallyKey, list[int]] = {}  # -> [requests, items]
        self._tally_handle: asyncio.TimerHandle | None = None

    def encode(
        self, actor: Actor, action: str, outcome: str, *, resource: str | None = None, reason: str | None = None,
        remote_addr: str | None = None, details: Mapping[str, str] | None = None,
    ) -> tuple[str, bytes]:
        record = {
            "audit_id": uuid4_str(),
            "occurred_at": int(time.time() * 1000),
            "actor": actor.name,
            "role": actor.role,
            "organization_id": actor.organization_id,
            "action": action,
            "resource": resource,
            "outcome": outcome,
            "reason": reason,
            "remote_addr": remote_addr,
            "details": dict(details or {}),
        }
        return actor.organization_id or actor.name, self._topic.codec.encode(record)

    def submit(self, actor: Actor, action: str, outcome: str, **kw: object) -> asyncio.Future[None]:
        """Queue the record; await it with Publisher.wait/settle together with the action's own records."""
        key, value = self.encode(actor, action, outcome, **kw)  # type: ignore[arg-type]
        return self._publisher.submit(self._topic.name, key, value)

    def fire(self, actor: Actor, action: str, outcome: str, **kw: object) -> None:
        """Queue the record without waiting; a failed delivery is logged and counted."""
        self.submit(actor, action, outcome, **kw).add_done_callback(self._check)

    def _check(self, fut: asyncio.Future[None]) -> None:
        if fut.cancelled() or fut.exception() is None:
            return
        log.warning("an audit record was not delivered: %s", type(fut.exception()).__name__)
        if self._on_lost is not None:
            self._on_lost()

    def tally(self, actor: Actor, action: str, *, resource: str | None, remote_addr: str | None,
              items: int) -> None:
        """An accepted provider callback: counted, audited with its window's others by `flush_tally`."""
        counts = self._tally.setdefault((actor, action, resource, remote_addr), [0, 0])
        counts[0] += 1
        counts[1] += items
        if self._tally_handle is None:
            self._tally_handle = asyncio.get_running_loop().call_later(self._tally_window_s, self.flush_tally)

    def flush_tally(self) -> None:
        """One allowed record per tallied (actor, action, resource, remote address); also at shutdown."""
        if self._tally_handle is not None:
            self._tally_handle.cancel()
            self._tally_handle = None
        tally, self._tally = self._tally, {}
        for (actor, action, resource, remote), (requests, items) in tally.items():
            self.fire(actor, action, ALLOWED, resource=resource, remote_addr=remote,
                      details={"requests": str(requests), "items": str(items)})
