"""Who reads analytics: analysts and auditors only; raw SQL only for the operator's organizations."""
from __future__ import annotations

import pytest

from analytics.access import AccessPolicy
from analytics.exceptions import Forbidden, Unauthenticated
from gateway.auth import KeyStore

DEMO = KeyStore.demo()


def bearer(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


def test_only_analysts_and_auditors_are_readers():
    policy = AccessPolicy(DEMO, frozenset(), production=False)
    assert policy.reader(bearer("demo-clinic-analyst-key")).key_id == "demo-analyst"
    assert policy.reader(bearer("demo-clinic-auditor-key")).key_id == "demo-auditor"
    with pytest.raises(Forbidden):
        policy.reader(bearer("demo-clinic-sender-key"))
    with pytest.raises(Forbidden):
        policy.reader(bearer("demo-clinic-admin-key"))
    with pytest.raises(Unauthenticated):
        policy.reader(bearer("nope"))
    with pytest.raises(Unauthenticated):
        policy.reader({})


def test_sql_is_for_operator_organizations_when_configured():
    policy = AccessPolicy(DEMO, frozenset({"demo-clinic"}), production=True)
    demo = policy.reader(bearer("demo-clinic-analyst-key"))
    policy.require_sql(demo)
    assert policy.report_org(demo, "other-clinic") == "other-clinic"
    assert policy.report_org(demo, "") == ""


def test_in_production_without_operator_orgs_nobody_gets_sql_and_reports_are_own_org():
    policy = AccessPolicy(DEMO, frozenset(), production=True)
    key = policy.reader(bearer("demo-clinic-auditor-key"))
    with pytest.raises(Forbidden):
        policy.require_sql(key)
    assert policy.report_org(key, "") == "demo-clinic"
    assert policy.report_org(key, "demo-clinic") == "demo-clinic"
    with pytest.raises(Forbidden):
        policy.report_org(key, "other-clinic")


def test_development_default_lets_demo_readers_use_sql():
    policy = AccessPolicy(DEMO, frozenset(), production=False)
    policy.require_sql(policy.reader(bearer("demo-clinic-analyst-key")))
