"""Who may do what on the console."""
from __future__ import annotations

import pytest

from gateway.console.roles import ConsoleRole, Permission, allows

R, P = ConsoleRole, Permission


@pytest.mark.parametrize(("role", "permission", "allowed"), [
    pytest.param(R.STAFF, P.INBOX_READ, True, id="staff-reads-inbox"),
    pytest.param(R.STAFF, P.INBOX_ACT, True, id="staff-acts"),
    pytest.param(R.STAFF, P.PHI_READ, True, id="staff-reads-phi"),
    pytest.param(R.STAFF, P.USERS, False, id="staff-no-users"),
    pytest.param(R.ADMIN, P.INBOX_ACT, True, id="admin-acts"),
    pytest.param(R.ADMIN, P.USERS, True, id="admin-users"),
    pytest.param(R.AUDITOR, P.INBOX_READ, True, id="auditor-reads-inbox"),
    pytest.param(R.AUDITOR, P.INBOX_ACT, False, id="auditor-read-only"),
    pytest.param(R.AUDITOR, P.PHI_READ, False, id="auditor-no-phi"),
    pytest.param(R.ANALYST, P.INBOX_READ, False, id="analyst-no-inbox"),
    pytest.param(R.ANALYST, P.PHI_READ, False, id="analyst-never-phi"),
    pytest.param(R.ANALYST, P.MESSAGE_READ, True, id="analyst-reads-lifecycles"),
    pytest.param(R.AUDITOR, P.MESSAGE_READ, True, id="auditor-reads-lifecycles"),
    pytest.param(R.STAFF, P.MESSAGE_READ, True, id="staff-reads-lifecycles"),
    pytest.param(R.ANALYST, P.REPORTS, True, id="analyst-reads-reports"),
    pytest.param(R.AUDITOR, P.REPORTS, True, id="auditor-reads-reports"),
    pytest.param(R.ADMIN, P.REPORTS, True, id="admin-reads-reports"),
    pytest.param(R.STAFF, P.REPORTS, False, id="staff-no-reports"),
    pytest.param(R.ADMIN, P.TEMPLATES, True, id="admin-manages-templates"),
    pytest.param(R.STAFF, P.TEMPLATES, False, id="staff-no-templates"),
    pytest.param(R.ANALYST, P.TEMPLATES, False, id="analyst-no-templates"),
    pytest.param(R.AUDITOR, P.TEMPLATES, False, id="auditor-no-templates"),
])
def test_permissions(role, permission, allowed):
    assert allows(role, permission) is allowed
