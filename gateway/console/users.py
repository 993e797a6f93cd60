"""`carelay users`: console accounts on the command line (add, unlock, disable), and the demo accounts.

    carelay users add --org clinic-42 --role staff alice     # asks for the password twice
    printf '%s\\n' "$PASSWORD" | carelay users add --org clinic-42 --role staff alice   # or from stdin
    carelay users unlock --org clinic-42 alice
    carelay users disable --org clinic-42 alice

Each writes one record to Kafka (`staff.accounts`, `staff.signins`) and waits for the broker's
acknowledgement; every gateway process sees it within a second. The password is hashed here (argon2id)
and never leaves this process in clear.
"""
from __future__ import annotations

import argparse
import getpass
import sys
import time
import uuid
from collections.abc import Sequence
from typing import Any

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient

from gateway.console.accounts import Account, account_key, valid_name
from gateway.console.lockout import UNLOCKED, SignInEvent
from gateway.console.passwords import hash_password
from gateway.console.roles import ConsoleRole
from schemas.errors import ConfigError
from schemas.registry import registry_from_url
from schemas.settings import Settings
from schemas.topics import TOPICS, Catalog, ensure_topics

# `make run` only (stack/cli.py): one staff account per demo organization of access/keys.py's demo keys.
DEMO_PASSWORD = "demo-console-password"  # noqa: S105 - development only, refused in production
DEMO_ACCOUNTS: tuple[tuple[str, str, ConsoleRole], ...] = (
    ("demo-clinic", "demo-staff", ConsoleRole.STAFF),
    ("other-clinic", "other-staff", ConsoleRole.STAFF),
    ("demo-clinic", "demo-admin", ConsoleRole.ADMIN),  # the operations and accounts pages
)
DEMO_ADMIN = "demo-admin"


class AccountWriter:
    """Writes account and sign-in records and waits for each acknowledgement."""

    def __init__(self, settings: Settings, *, timeout_s: float = 10.0) -> None:
        k = settings.kafka
        ensure_topics(AdminClient({"bootstrap.servers": k.bootstrap}), k.topic_prefix, k.partitions,
                      k.replication_factor, topics=[TOPICS.staff_accounts, TOPICS.staff_signins, TOPICS.staff_actions])
        self._registry = registry_from_url(k.schema_registry_url)
        self._catalog = Catalog(k.topic_prefix, self._registry)
        self._producer = Producer({"bootstrap.servers": k.bootstrap, "enable.idempotence": True})
        self._timeout_s = timeout_s

    def __enter__(self) -> AccountWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the registry client's HTTP session (see gateway.app._close_registry)."""
        registry = self._registry
        close = getattr(registry, "close", None) or getattr(getattr(registry, "_client", None), "close", None)
        if callable(close):
            close()

    def _produce(self, topic: Any, key: str, record: dict[str, Any]) -> None:
        errors: list[Any] = []
        self._producer.produce(topic.name, key=key.encode("utf-8"), value=topic.codec.encode(record),
                               on_delivery=lambda err, _msg: errors.append(err) if err is not None else None)
        if self._producer.flush(self._timeout_s) or errors:
            raise ConfigError(f"Kafka did not take the record ({errors[0] if errors else 'timed out'})")

    def put(self, account: Account, updated_by: str) -> None:
        self._produce(self._catalog.staff_accounts, account.key, account.record(_now_ms(), updated_by))

    def unlock(self, organization_id: str, username: str) -> None:
        event = SignInEvent(str(uuid.uuid4()), organization_id, username, UNLOCKED, _now_ms())
        self._produce(self._catalog.staff_signins, account_key(organization_id, username), event.record())


def _now_ms() -> int:
    return int(time.time() * 1000)


def new_account(organization_id: str, username: str, role: str, password: str) -> Account:
    if not valid_name(organization_id) or not valid_name(username):
        raise ConfigError("organization and username: letters, digits, '.', '_' or '-', at most 64")
    return Account(organization_id, username, ConsoleRole(role), hash_password(password))


def demo_accounts(settings: Settings) -> list[tuple[str, str, str]]:
    """(organization, username, password) of each demo account, written to Kafka; never in production."""
    if settings.production:
        raise ConfigError("the demo console accounts are for development only (CARELAY_ENV=production)")
    with AccountWriter(settings) as writer:
        for org, user, role in DEMO_ACCOUNTS:
            writer.put(new_account(org, user, role, DEMO_PASSWORD), "demo")
    return [(org, user, DEMO_PASSWORD) for org, user, _ in DEMO_ACCOUNTS]


def read_password(prompt_twice: bool) -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("password: ")
    if prompt_twice and getpass.getpass("again: ") != first:
        raise ConfigError("the two passwords differ")
    return first


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="carelay users", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    add = sub.add_parser("add", help="add an account, or replace its role and password")
    add.add_argument("--org", required=True, help="the organization the account belongs to (sees only its own)")
    add.add_argument("--role", required=True, choices=[r.value for r in ConsoleRole])
    add.add_argument("username")
    for name, text in (("unlock", "end a lock-out after failed sign-ins"),
                       ("disable", "stop an account from signing in (its sessions end at the next request)")):
        p = sub.add_parser(name, help=text)
        p.add_argument("--org", required=True)
        p.add_argument("username")
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
        account = None
        if args.command == "add":
            account = new_account(args.org, args.username, args.role, read_password(prompt_twice=True))
        elif args.command == "disable":  # add it again to enable it, with a new password
            account = Account(args.org, args.username, ConsoleRole.STAFF, "!", disabled=True)
        with AccountWriter(settings) as writer:
            if account is not None:
                writer.put(account, "cli")
            else:
                writer.unlock(args.org, args.username)
    except (ConfigError, ValueError) as exc:
        print(f"carelay users: {exc}", file=sys.stderr)
        return 2
    print(f"carelay users: {args.command} {args.org}/{args.username}: done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
