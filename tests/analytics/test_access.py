"""Who reads analytics: analysts and auditors only; each key its own organization, in every environment,
unless its organization is configured as the operator (which alone has raw SQL)."""
from __future__ import annotations

import pytest

from access.keys import KeyStore
from analytics.access import AccessPolicy
from analytics.exceptions import Forbidden, Unauthenticated

DEMO = KeyStore.demo()
NOBODY: frozenset[str] = frozenset()
DEMO_OPERATOR = frozenset({"demo-clinic"})


def bearer(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


def test_only_analysts_and_auditors_are_readers():
    policy = AccessPolicy(DEMO, NOBODY)
    assert policy.reader(bearer("demo-clinic-analyst-key")).key_id == "demo-analyst"
    assert policy.reader(bearer("demo-clinic-auditor-key")).key_id == "demo-auditor"
    assert policy.reader(bearer("other-clinic-analyst-key")).organization_id == "other-clinic"
    with pytest.raises(Forbidden):
        policy.reader(bearer("demo-clinic-sender-key"))
    with pytest.raises(Forbidden):
        policy.reader(bearer("demo-clinic-admin-key"))
    with pytest.raises(Unauthenticated):
        policy.reader(bearer("nope"))
    with pytest.raises(Unauthenticated):
        policy.reader({})


# (operator organizations, key, requested organization, the organization the report covers or None: 403)
REPORT_SCOPE = [
    pytest.param(NOBODY, "demo-clinic-analyst-key", "", "demo-clinic", id="no-operator-own-by-default"),
    pytest.param(NOBODY, "demo-clinic-analyst-key", "demo-clinic", "demo-clinic", id="no-operator-own-asked"),
    pytest.param(NOBODY, "demo-clinic-analyst-key", "other-clinic", None, id="no-operator-demo-asks-other"),
    pytest.param(NOBODY, "other-clinic-analyst-key", "", "other-clinic", id="no-operator-other-own-by-default"),
    pytest.param(NOBODY, "other-clinic-analyst-key", "demo-clinic", None, id="no-operator-other-asks-demo"),
    pytest.param(NOBODY, "demo-clinic-auditor-key", "other-clinic", None, id="no-operator-auditor-asks-other"),
    pytest.param(DEMO_OPERATOR, "demo-clinic-analyst-key", "other-clinic", "other-clinic", id="operator-asks-other"),
    pytest.param(DEMO_OPERATOR, "demo-clinic-analyst-key", "", "", id="operator-sees-all"),
    pytest.param(DEMO_OPERATOR, "other-clinic-analyst-key", "", "other-clinic", id="tenant-of-operator-own"),
    pytest.param(DEMO_OPERATOR, "other-clinic-analyst-key", "demo-clinic", None, id="tenant-asks-operator"),
]


@pytest.mark.parametrize(("operator", "key", "requested", "covered"), REPORT_SCOPE)
def test_report_scope(operator: frozenset[str], key: str, requested: str, covered: str | None):
    policy = AccessPolicy(DEMO, operator)
    reader = policy.reader(bearer(key))
    if covered is None:
        with pytest.raises(Forbidden):
            policy.report_org(reader, requested)
    else:
        assert policy.report_org(reader, requested) == covered


SQL_ACCESS = [
    pytest.param(NOBODY, "demo-clinic-analyst-key", False, id="no-operator-nobody"),
    pytest.param(NOBODY, "other-clinic-analyst-key", False, id="no-operator-nobody-other"),
    pytest.param(DEMO_OPERATOR, "demo-clinic-analyst-key", True, id="operator-analyst"),
    pytest.param(DEMO_OPERATOR, "demo-clinic-auditor-key", True, id="operator-auditor"),
    pytest.param(DEMO_OPERATOR, "other-clinic-analyst-key", False, id="tenant"),
]


@pytest.mark.parametrize(("operator", "key", "allowed"), SQL_ACCESS)
def test_sql_is_for_the_operator_only(operator: frozenset[str], key: str, allowed: bool):
    policy = AccessPolicy(DEMO, operator)
    reader = policy.reader(bearer(key))
    if allowed:
        policy.require_sql(reader)
    else:
        with pytest.raises(Forbidden):
            policy.require_sql(reader)
