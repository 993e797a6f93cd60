"""Who may read analytics: carelay's hashed API keys (access.keys), roles analyst or auditor, behind one function.

A key reads its own organization only, in every environment, unless its organization is explicitly
configured as the operator (CARELAY_ANALYTICS_SQL_ORGS): the operator's keys may ask for any
organization's report, or all. Raw SQL cannot be limited to one organization's rows (the embedded
engine has no row policies), so `POST /v1/sql` is for the operator's keys only; with the setting empty
nobody has it, the demo keys of `make run` included.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from access import keys
from access.keys import ApiKey, KeyStore, Role, authenticate
from analytics.exceptions import Forbidden, Unauthenticated

READER_ROLES = frozenset({Role.ANALYST, Role.AUDITOR})


@dataclass(frozen=True)
class AccessPolicy:
    keys: KeyStore
    sql_orgs: frozenset[str]  # the operator: organizations whose keys see every tenant; empty: nobody

    def identify(self, headers: Mapping[str, str]) -> ApiKey:
        try:
            return authenticate(self.keys, headers)
        except keys.Unauthenticated as exc:
            raise Unauthenticated(str(exc)) from None

    @staticmethod
    def require_reader(key: ApiKey) -> None:
        if key.role not in READER_ROLES:
            raise Forbidden(f"role {key.role.value!r} may not read analytics (analyst or auditor only)")

    def reader(self, headers: Mapping[str, str]) -> ApiKey:
        """The caller's key if it is an analyst's or auditor's; the one check every endpoint makes."""
        key = self.identify(headers)
        self.require_reader(key)
        return key

    def sees_all(self, key: ApiKey) -> bool:
        return key.organization_id in self.sql_orgs

    def require_sql(self, key: ApiKey) -> None:
        if not self.sees_all(key):
            raise Forbidden("SQL access spans every organization and is for the operator only; "
                            "GET /v1/report gives your organization's figures")

    def report_org(self, key: ApiKey, requested: str) -> str:
        """The organization a report covers: any (or all, '') for the operator, else the key's own."""
        if self.sees_all(key):
            return requested
        if requested and requested != key.organization_id:
            raise Forbidden("a key reads only its own organization's report")
        return key.organization_id
