"""API keys: who is calling, for which organization, with which role; stored as sha256 hashes only.

The key file (CARELAY_API_KEYS_FILE) is a JSON list of
`{"key_id": "...", "sha256": "<hex sha256 of the clear key>", "organization_id": "...", "role": "..."}`.
Without one the gateway uses the demo keys below only when CARELAY_DEMO_API_KEYS opts in (`make run` and
the tests do; gateway/README.md); production refuses to start with them.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from schemas.errors import CarelayError, ConfigError


class AccessDenied(CarelayError):
    """The caller may not go on; the gateway answers 401 or 403, analytics its own errors of the same names."""


class Unauthenticated(AccessDenied):
    """No API key, or an unknown one."""


class Forbidden(AccessDenied):
    """The key's role does not allow the action."""


class Role(StrEnum):
    SENDER = "sender"
    ADMIN = "admin"
    ANALYST = "analyst"
    AUDITOR = "auditor"
    OPS = "ops"  # Alertmanager's webhook: operations alerts become staff notices (gateway/alerts.py)


class Action(StrEnum):
    SEND = "message.send"
    READ = "message.read"
    STAFF_READ = "staff.notifications.read"
    CONVERSATION_RESUME = "conversation.resume"
    OPS_ALERTS = "ops.alerts.notify"
    WEBHOOKS_MANAGE = "webhooks.manage"  # the organization's outbound webhook endpoints (docs/webhooks.md)


# Who may do what. Every key acts only within its own organization (checked by the endpoints).
# Staff notifications name patients (pseudonyms, appointment ids) to act on: the clinic's systems
# and auditors read them; analysts get their counts from analytics instead. Resuming a conversation the
# loop guard paused lets automated replies reach the patient again: a person's decision (an admin key),
# not something a sending system does on its own.
PERMISSIONS: Mapping[Role, frozenset[Action]] = {
    Role.SENDER: frozenset({Action.SEND, Action.READ, Action.STAFF_READ}),
    Role.ADMIN: frozenset({Action.SEND, Action.READ, Action.STAFF_READ, Action.CONVERSATION_RESUME,
                           Action.WEBHOOKS_MANAGE}),
    Role.ANALYST: frozenset({Action.READ}),
    Role.AUDITOR: frozenset({Action.READ, Action.STAFF_READ}),
    Role.OPS: frozenset({Action.OPS_ALERTS}),
}


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    organization_id: str
    role: Role

    def allows(self, action: Action) -> bool:
        return action in PERMISSIONS[self.role]


# (clear key, key id, organization, role): development only, see gateway/README.md.
DEMO_KEYS: tuple[tuple[str, str, str, Role], ...] = (
    ("demo-clinic-sender-key", "demo-sender", "demo-clinic", Role.SENDER),
    ("demo-clinic-admin-key", "demo-admin", "demo-clinic", Role.ADMIN),
    ("demo-clinic-analyst-key", "demo-analyst", "demo-clinic", Role.ANALYST),
    ("demo-clinic-auditor-key", "demo-auditor", "demo-clinic", Role.AUDITOR),
    ("demo-clinic-ops-key", "demo-ops", "demo-clinic", Role.OPS),
    ("other-clinic-sender-key", "other-sender", "other-clinic", Role.SENDER),
    ("other-clinic-admin-key", "other-admin", "other-clinic", Role.ADMIN),
    ("other-clinic-analyst-key", "other-analyst", "other-clinic", Role.ANALYST),
)


def _name(value: object) -> str:
    """A key file's key_id or organization_id: a non-empty string without surrounding blanks.

    An empty organization would match no tenant filter the way a real one does, so it is refused at start-up.
    """
    if not isinstance(value, str) or not value or value != value.strip():
        raise ValueError("must be a non-empty string without surrounding blanks")
    return value


def hash_key(clear: str) -> str:
    return hashlib.sha256(clear.encode("utf-8")).hexdigest()


class KeyStore:
    """Maps sha256(key) to its ApiKey. Lookup hashes first, so timing reveals nothing about stored keys."""

    def __init__(self, entries: Iterable[tuple[str, ApiKey]]) -> None:
        self._by_hash: dict[str, ApiKey] = {}
        for digest, key in entries:
            if digest in self._by_hash:
                raise ConfigError(f"API key file: key {key.key_id!r} duplicates another key")
            self._by_hash[digest] = key

    @classmethod
    def demo(cls) -> KeyStore:
        return cls((hash_key(clear), ApiKey(kid, org, role)) for clear, kid, org, role in DEMO_KEYS)

    @classmethod
    def from_file(cls, path: Path) -> KeyStore:
        var = "CARELAY_API_KEYS_FILE"
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{var}: cannot read {path} as JSON ({type(exc).__name__})") from exc
        if not isinstance(raw, list):
            raise ConfigError(f"{var}: expected a JSON list of keys")
        entries = []
        for i, item in enumerate(raw):
            try:
                digest = str(item["sha256"]).lower()
                key = ApiKey(_name(item["key_id"]), _name(item["organization_id"]), Role(item["role"]))
            except (KeyError, TypeError, ValueError) as exc:
                raise ConfigError(f"{var}: entry {i} needs key_id, sha256, organization_id (non-empty strings) "
                                  "and a known role") from exc
            if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
                raise ConfigError(f"{var}: entry {i} ({key.key_id}): sha256 must be 64 hex characters")
            entries.append((digest, key))
        return cls(entries)

    @classmethod
    def from_settings(cls, api_keys_file: str, env: str, *, demo_keys: bool) -> KeyStore:
        """The key file; without one, the demo keys only when asked for (CARELAY_DEMO_API_KEYS) outside production."""
        if api_keys_file:
            return cls.from_file(Path(api_keys_file))
        if env == "production":
            raise ConfigError("CARELAY_API_KEYS_FILE: required in production (the demo keys are refused)")
        if not demo_keys:
            raise ConfigError("CARELAY_API_KEYS_FILE: required (or CARELAY_DEMO_API_KEYS=true for the development "
                              "demo keys)")
        return cls.demo()

    def lookup(self, clear: str) -> ApiKey | None:
        return self._by_hash.get(hash_key(clear))


def presented_key(headers: Mapping[str, str]) -> str | None:
    """`Authorization: Bearer <key>` or `X-API-Key: <key>`."""
    auth = headers.get("authorization")
    if auth:
        scheme, _, token = auth.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
        return None
    key = headers.get("x-api-key")
    return key.strip() or None if key else None


def authenticate(store: KeyStore, headers: Mapping[str, str]) -> ApiKey:
    clear = presented_key(headers)
    if clear is None:
        raise Unauthenticated("an API key is required (Authorization: Bearer <key> or X-API-Key)")
    key = store.lookup(clear)
    if key is None:
        raise Unauthenticated("unknown API key")
    return key


def authorize(key: ApiKey, action: Action) -> None:
    if not key.allows(action):
        raise Forbidden(f"role {key.role.value!r} may not {action.value}")
