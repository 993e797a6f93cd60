"""POST /v1/conversations/{recipient_id}:resume on the real broker: an admin's command reaches
`conversation.commands` keyed by the patient (so the worker owning the patient applies it), answered
202 once acked and audited; other roles are refused, ids that are not pseudonyms get a 422 naming the field."""
from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from gateway.services import Services
from tests.gateway.helpers import ADMIN, ANALYST, AUDITOR, SENDER, read_topic

RID = "0123456789abcdef0123456789abcdef"


def path(rid: str) -> str:
    return f"/v1/conversations/{rid}:resume"


def test_an_admin_resumes_a_conversation(client: TestClient, services: Services) -> None:
    r = client.post(path(RID), headers=ADMIN)
    assert r.status_code == 202, r.text
    doc = r.json()
    assert (doc["recipient_id"], doc["status"]) == (RID, "accepted")
    topic = services.topics.conversations
    [(key, record)] = read_topic(services.settings.kafka.bootstrap, topic.name, topic.codec, count=1)
    assert key == RID.encode()
    assert (record["type"], record["organization_id"], record["recipient_id"], record["event_id"]) == (
        "conversation.resume", "demo-clinic", RID, doc["command_id"])
    audit = services.topics.audit
    [(_, entry)] = read_topic(services.settings.kafka.bootstrap, audit.name, audit.codec, count=1,
                              where=lambda a: a["action"] == "conversation.resume")
    assert (entry["outcome"], entry["resource"], entry["details"]["command_id"]) == ("allowed", RID,
                                                                                      doc["command_id"])


@pytest.mark.parametrize(("headers", "status", "code"), [
    (SENDER, 403, "forbidden"),
    (ANALYST, 403, "forbidden"),
    (AUDITOR, 403, "forbidden"),
    ({}, 401, "unauthenticated"),
], ids=["sender", "analyst", "auditor", "no-key"])
def test_only_admins_resume(client: TestClient, headers: dict[str, str], status: int, code: str) -> None:
    r = client.post(path(RID), headers=headers)
    assert (r.status_code, r.json()["error"]["code"]) == (status, code)


@pytest.mark.parametrize("rid", [
    "0123456789ABCDEF0123456789ABCDEF", "0123456789abcdef", "0123456789abcdef0123456789abcdef0",
    "+5215512345678", "zz23456789abcdef0123456789abcdef",
], ids=["upper-case", "short", "long", "a-phone-number", "not-hex"])
def test_an_id_that_is_not_a_pseudonym_is_a_422_naming_the_field(client: TestClient, rid: str) -> None:
    r = client.post(path(rid), headers=ADMIN)
    assert r.status_code == 422, r.text
    assert r.json()["error"] == {"code": "invalid_field", "field": "recipient_id",
                                 "message": r.json()["error"]["message"]}
    assert rid not in r.text


def test_the_wrong_method_is_a_405(client: TestClient) -> None:
    assert client.get(path(RID), headers=ADMIN).status_code == 405
