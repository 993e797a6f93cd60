"""A flood of refused requests on the real broker: sends keep working, the refusals are audited as
window counts, and past its budget the flooding address is answered 429; a refusal's log line."""
from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
from starlette.testclient import TestClient

from gateway.app import create_app
from schemas.settings import Settings
from tests.gateway.helpers import PHONE, SENDER, key, read_topic, send_body, wait_ready

FLOOD = 400
BUDGET = 50
FLOODER = "203.0.113.7"


def test_a_flood_of_refusals_never_makes_a_send_503_and_is_audited_as_counts(settings_env: dict[str, str]):
    # a send queue far smaller than the flood: one audit record per refusal in that queue would fill it
    settings = Settings.from_env({**settings_env, "CARELAY_GATEWAY_QUEUE_MAX_MESSAGES": "50",
                                  "CARELAY_GATEWAY_REFUSALS_PER_MINUTE": str(BUDGET)})
    with TestClient(create_app(settings)) as client:
        wait_ready(client)

        async def flood() -> tuple[list[int], int, int]:
            app: Any = client.app
            attacker = httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(FLOODER, 4000)),
                                         base_url="http://testserver")
            clinic = httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("198.51.100.20", 5000)),
                                       base_url="http://testserver")
            async with attacker, clinic:
                # all at once on the app's loop: before the producer is polled even once
                refused = [attacker.post("/v1/messages", json=send_body(idempotency_key=key()),
                                         headers={"Authorization": "Bearer guessed-key"}) for _ in range(FLOOD)]
                sends = [clinic.post("/v1/messages", json=send_body(idempotency_key=key()), headers=SENDER),
                         attacker.post("/v1/messages", json=send_body(idempotency_key=key()), headers=SENDER)]
                *floods, ours, theirs = await asyncio.gather(*refused, *sends)
                # another address is refused normally, whatever the flooder did
                other = await clinic.post("/v1/messages", json=send_body())
            return [r.status_code for r in floods], ours.status_code, theirs.status_code, other.status_code

        codes, ours, theirs, other = client.portal.call(flood)
        svc = app_services(client)

    assert ours == 202 and theirs == 202  # a valid key is served even from the flooding address
    assert codes.count(401) == BUDGET and codes.count(429) == FLOOD - BUDGET
    assert other == 401
    topic = svc.topics.audit
    denied = [r for _, r in read_topic(settings.kafka.bootstrap, topic.name, topic.codec, count=FLOOD, timeout_s=5,
                                       where=lambda r: r["outcome"] == "denied")]
    flooder = [r for r in denied if r["remote_addr"] == FLOODER]
    assert 1 <= len(flooder) <= 10  # one per second the flood lasted, not one per refusal
    assert {(r["actor"], r["action"], r["reason"], r["resource"]) for r in flooder} == {
        ("anonymous", "message.send", "unauthenticated", "/v1/messages")}
    assert sum(int(r["details"]["requests"]) for r in flooder) == FLOOD
    assert sum(int(r["details"].get("rate_limited", "0")) for r in flooder) == FLOOD - BUDGET
    assert [int(r["details"]["requests"]) for r in denied if r["remote_addr"] == "198.51.100.20"] == [1]


def app_services(client: TestClient) -> Any:
    return client.app.state.services  # type: ignore[attr-defined]


def test_a_refused_webhook_is_logged_at_info_without_its_content(client, caplog):
    form = {"From": PHONE, "To": "+15005550006", "Body": "Si, confirmo. Ana Maria", "MessageSid": "SMsecret"}
    with caplog.at_level(logging.INFO, logger="gateway"):
        r = client.post("/webhooks/twilio/inbound?org=demo-clinic&message_id=m-77", data=form,
                        headers={"X-Twilio-Signature": "Zm9yZ2Vk"})
    assert r.status_code == 403
    lines = [rec.getMessage() for rec in caplog.records if rec.name.startswith("gateway")]
    assert "refused /webhooks/twilio/inbound: bad_signature (twilio, from testclient)" in lines
    assert all(rec.levelno == logging.INFO for rec in caplog.records if rec.name == "gateway.refusals")
    text = "\n".join(lines)
    for leaked in (PHONE, PHONE[1:], "confirmo", "Ana", "SMsecret", "Zm9yZ2Vk", "demo-clinic", "m-77"):
        assert leaked not in text
