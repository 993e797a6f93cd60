"""Lock-out after repeated failed sign-ins, and sessions ended by sign-out, counted across every gateway
process through the `staff.signins` topic (key `organization_id|username`, so one account's events are
in order on one partition).

The fold is pure (`Attempts.apply`): failures in a row since the last success or unlock; the account
is locked while that count has reached the limit and the last failure is younger than the lock-out
period. A process applies its own events at once as well as when they come back from Kafka (events
carry ids, so applying twice is harmless), so the next attempt on the same process is never judged
on a stale count; another process sees them within its poll interval.
"""
from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from gateway.topicview import TopicView
from schemas.codec import AvroCodec

FAILED, SUCCEEDED, LOCKED, UNLOCKED, SIGNED_OUT = "failed", "succeeded", "locked", "unlocked", "signed_out"
REMEMBERED_IDS = 64


@dataclass(frozen=True)
class SignInEvent:
    event_id: str
    organization_id: str
    username: str
    kind: str
    occurred_at: int  # epoch millis
    session_id: str | None = None
    remote_addr: str | None = None

    @property
    def key(self) -> str:
        return f"{self.organization_id}|{self.username}"

    @classmethod
    def of(cls, rec: Mapping[str, Any]) -> SignInEvent:
        return cls(rec["event_id"], rec["organization_id"], rec["username"], rec["kind"], int(rec["occurred_at"]),
                   rec.get("session_id"), rec.get("remote_addr"))

    def record(self) -> dict[str, Any]:
        return {"event_id": self.event_id, "organization_id": self.organization_id, "username": self.username,
                "kind": self.kind, "session_id": self.session_id, "remote_addr": self.remote_addr,
                "occurred_at": self.occurred_at}


@dataclass(frozen=True)
class Policy:
    failures: int  # this many failures in a row lock the account ...
    lock_ms: int  # ... for this long after the last one


@dataclass(frozen=True)
class Attempts:
    """One account's failed sign-ins in a row; `ids`: the latest events already applied, so an event
    applied locally and then read back from Kafka (even after a later success) counts once."""

    failures: int = 0
    last_failure_at: int = 0
    ids: tuple[str, ...] = ()

    def apply(self, e: SignInEvent) -> Attempts:
        if e.event_id in self.ids:
            return self
        ids = (*self.ids, e.event_id)[-REMEMBERED_IDS:]
        if e.kind == FAILED:
            return Attempts(self.failures + 1, max(self.last_failure_at, e.occurred_at), ids)
        if e.kind in (SUCCEEDED, UNLOCKED):
            return Attempts(0, 0, ids)
        return replace(self, ids=ids)

    def locked(self, policy: Policy, now_ms: int) -> bool:
        return self.failures >= policy.failures and now_ms < self.last_failure_at + policy.lock_ms

    def expired(self, policy: Policy, now_ms: int) -> bool:
        """A lock (or a run of failures) that has run out: the next attempt starts from zero."""
        return self.failures > 0 and now_ms >= self.last_failure_at + policy.lock_ms


class SignInView(TopicView):
    """Failures per account and sessions ended by sign-out (kept until no cookie could still carry them)."""

    name = "console sign-in view"

    def __init__(self, bootstrap: str, topic: str, codec: AvroCodec, session_max_ms: int) -> None:
        super().__init__(bootstrap, topic, codec)
        self._session_max_ms = session_max_ms
        self._attempts: dict[str, Attempts] = {}
        self._ended: dict[str, int] = {}  # session id -> when it can be forgotten
        self._lock = threading.Lock()

    def apply(self, key: bytes | None, record: dict[str, Any] | None) -> None:
        if record is not None:
            self.record(SignInEvent.of(record))

    def record(self, e: SignInEvent) -> None:
        with self._lock:
            self._attempts[e.key] = self._attempts.get(e.key, Attempts()).apply(e)
            if e.kind == SIGNED_OUT and e.session_id:
                self._ended[e.session_id] = e.occurred_at + self._session_max_ms

    def attempts(self, organization_id: str, username: str, policy: Policy, now_ms: int) -> Attempts:
        with self._lock:
            key = f"{organization_id}|{username}"
            held = self._attempts.get(key, Attempts())
            if held.expired(policy, now_ms):
                held = self._attempts[key] = Attempts(ids=held.ids)
            return held

    def ended(self, session_id: str, now_ms: int) -> bool:
        with self._lock:
            until = self._ended.get(session_id)
            if until is not None and until <= now_ms:
                del self._ended[session_id]
                return False
            return until is not None
