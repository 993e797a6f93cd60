"""Console roles and what each may do; an account acts only within its own organization."""
from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum


class ConsoleRole(StrEnum):
    STAFF = "staff"
    ADMIN = "admin"
    AUDITOR = "auditor"
    ANALYST = "analyst"


class Permission(StrEnum):
    INBOX_READ = "console.inbox.read"
    INBOX_ACT = "console.inbox.act"  # acknowledge, assign, resolve
    PHI_READ = "console.phi.read"  # the patient's words and number (conversation pages)
    USERS = "console.users"
    MESSAGE_READ = "console.message.read"  # a message's lifecycle: statuses, channels, codes; no PHI
    OPERATIONS = "console.operations"  # circuits, unseen accepts, dead letters and their replay
    REPORTS = "console.reports"  # the reporting dashboard: figures from analytics, no PHI
    TEMPLATES = "console.templates"  # message templates: list, preview, create, edit (WhatsApp review)


# Staff work the inbox; admins too, and manage accounts; auditors read without acting; analysts see
# no notices at all (they name patients to act on) and no PHI: their numbers come from analytics.
PERMISSIONS: Mapping[ConsoleRole, frozenset[Permission]] = {
    ConsoleRole.STAFF: frozenset({Permission.INBOX_READ, Permission.INBOX_ACT, Permission.PHI_READ,
                                  Permission.MESSAGE_READ}),
    ConsoleRole.ADMIN: frozenset({Permission.INBOX_READ, Permission.INBOX_ACT, Permission.PHI_READ,
                                  Permission.USERS, Permission.MESSAGE_READ, Permission.OPERATIONS,
                                  Permission.REPORTS, Permission.TEMPLATES}),
    ConsoleRole.AUDITOR: frozenset({Permission.INBOX_READ, Permission.MESSAGE_READ, Permission.REPORTS}),
    ConsoleRole.ANALYST: frozenset({Permission.MESSAGE_READ, Permission.REPORTS}),
}


def allows(role: ConsoleRole, permission: Permission) -> bool:
    return permission in PERMISSIONS[role]
