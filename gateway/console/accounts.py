"""Console accounts: the compacted `staff.accounts` topic (key `organization_id|username`), read into
memory by every gateway process (gateway.topicview). Kafka is the only store: `carelay users add`
writes a record, every process sees it within its poll interval; a tombstone deletes the account.
"""
from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway.console.roles import ConsoleRole
from gateway.topicview import TopicView
from schemas.codec import AvroCodec

# names people type at the desk: letters, digits and . _ - (organization ids follow the API keys' rule)
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def account_key(organization_id: str, username: str) -> str:
    return f"{organization_id}|{username}"


def valid_name(value: str) -> bool:
    return bool(NAME.match(value))


@dataclass(frozen=True)
class Account:
    organization_id: str
    username: str
    role: ConsoleRole
    password_hash: str
    disabled: bool = False

    @property
    def key(self) -> str:
        return account_key(self.organization_id, self.username)

    @classmethod
    def of(cls, rec: Mapping[str, Any]) -> Account:
        return cls(rec["organization_id"], rec["username"], ConsoleRole(rec["role"]), rec["password_hash"],
                   bool(rec.get("disabled")))

    def record(self, now_ms: int, updated_by: str) -> dict[str, Any]:
        return {"organization_id": self.organization_id, "username": self.username, "role": self.role.value,
                "password_hash": self.password_hash, "disabled": self.disabled, "updated_at": now_ms,
                "updated_by": updated_by}


class AccountView(TopicView):
    name = "console account view"

    def __init__(self, bootstrap: str, topic: str, codec: AvroCodec) -> None:
        super().__init__(bootstrap, topic, codec)
        self._accounts: dict[str, Account] = {}
        self._lock = threading.Lock()

    def apply(self, key: bytes | None, record: dict[str, Any] | None) -> None:
        if record is None:
            if key is not None:
                with self._lock:
                    self._accounts.pop(key.decode("utf-8", "replace"), None)
            return
        try:
            account = Account.of(record)
        except ValueError:  # an unknown role: not an account this version can sign in
            return
        with self._lock:
            self._accounts[account.key] = account

    def get(self, organization_id: str, username: str) -> Account | None:
        with self._lock:
            return self._accounts.get(account_key(organization_id, username))

    def of_organization(self, organization_id: str) -> list[Account]:
        """The organization's accounts, by username."""
        with self._lock:
            found = [a for a in self._accounts.values() if a.organization_id == organization_id]
        return sorted(found, key=lambda a: a.username)
