"""AuditRecords for every authenticated request and every refusal: who, what, which resource, outcome.

Never PHI: the actor is a key id (never the key), a provider name or "anonymous"; resources are
message ids and route templates. Allowed actions are audited together with their own record, on the
action's own producer, and the request waits for both acks (no access without a trail). Records
nobody waits for (rejections, errors, tallies) go through a second producer with its own bounded
queue (CARELAY_GATEWAY_AUDIT_QUEUE_MAX_MESSAGES), so however many of them pile up, none takes a
send's place in the sends' queue; one Kafka did not take is logged and counted in a metric.

Accepted provider callbacks are not an access by a person or an API key: each one is already a
durable WebhookEnvelope (id, provider, kind, received time) on `webhooks.raw`. Refusals (401, 403,
bad signatures, failed handshakes) are nobody's access either, and anyone can send a flood of them
(gateway.refusals). Both are tallied (`tally`) and audited as one record per actor, action,
outcome, reason, route and remote address per `TALLY_WINDOW_S`, with the number of requests (and
of items, for callbacks; of those answered 429, for refusals).
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from access.keys import ApiKey
from gateway.publisher import Publisher
from schemas.ids import uuid4_str
from schemas.topics import BoundTopic

log = logging.getLogger(__name__)

ALLOWED, DENIED, REJECTED, ERROR = "allowed", "denied", "rejected", "error"
TALLY_WINDOW_S = 1.0

MAX_TALLY_KEYS = 10_000  # per window; beyond it new keys drop the remote address (a flood from many)

# actor, action, outcome, reason, resource, remote address
_TallyKey = tuple["Actor", str, str, str | None, str | None, str | None]


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
                 tally_window_s: float = TALLY_WINDOW_S, background: Publisher | None = None) -> None:
        self._publisher = publisher  # records awaited with the action's own
        self._background = background or publisher  # records nobody waits for: their own queue
        self._topic = topic
        self._on_lost = on_lost
        self._tally_window_s = tally_window_s
        self._tally: dict[_TallyKey, list[int]] = {}  # -> [requests, items, answered 429]
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
        """Queue the record on the background producer without waiting; a failed delivery is logged and counted."""
        key, value = self.encode(actor, action, outcome, **kw)  # type: ignore[arg-type]
        self._background.submit(self._topic.name, key, value).add_done_callback(self._check)

    def _check(self, fut: asyncio.Future[None]) -> None:
        if fut.cancelled() or fut.exception() is None:
            return
        log.warning("an audit record was not delivered: %s", type(fut.exception()).__name__)
        if self._on_lost is not None:
            self._on_lost()

    def tally(self, actor: Actor, action: str, *, resource: str | None, remote_addr: str | None, items: int = 0,
              outcome: str = ALLOWED, reason: str | None = None, limited: bool = False) -> None:
        """An accepted provider callback or a refusal: counted, audited with its window's others by `flush_tally`."""
        key = (actor, action, outcome, reason, resource, remote_addr)
        counts = self._tally.get(key)
        if counts is None:
            if len(self._tally) >= MAX_TALLY_KEYS:
                key = (actor, action, outcome, reason, resource, None)
            counts = self._tally.setdefault(key, [0, 0, 0])
        counts[0] += 1
        counts[1] += items
        counts[2] += limited
        if self._tally_handle is None:
            self._tally_handle = asyncio.get_running_loop().call_later(self._tally_window_s, self.flush_tally)

    def flush_tally(self) -> None:
        """One record per tallied key, with its counts; also at shutdown."""
        if self._tally_handle is not None:
            self._tally_handle.cancel()
            self._tally_handle = None
        tally, self._tally = self._tally, {}
        for (actor, action, outcome, reason, resource, remote), (requests, items, limited) in tally.items():
            details = {"requests": str(requests)}
            if outcome == ALLOWED:
                details["items"] = str(items)
            if limited:
                details["rate_limited"] = str(limited)
            self.fire(actor, action, outcome, resource=resource, reason=reason, remote_addr=remote, details=details)
