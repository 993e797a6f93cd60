"""The typed client against a running gateway (a uvicorn process on the session's broker), sync and async."""
from __future__ import annotations

import asyncio
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from carelay.client import (
    Accepted,
    ApiError,
    AsyncClient,
    Client,
    Message,
    Template,
    WebhookVerificationError,
    verify_webhook,
)
from schemas import webhook_signature
from stack.javaproc import free_port
from tests.streams.harness import Proc, wait_until

SENDER, ADMIN = "demo-clinic-sender-key", "demo-clinic-admin-key"
REMINDER = Template("appointment_reminder", "es",
                    {"patient_name": "Ana", "clinic": "Clinica Norte", "date": "1 de mayo", "time": "10:30"})


@pytest.fixture(scope="module")
def gateway(kafka, registry, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    import os

    tmp: Path = tmp_path_factory.mktemp("client")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARELAY_")}
    env.update({"CARELAY_KAFKA_BOOTSTRAP": kafka.bootstrap, "CARELAY_SCHEMA_REGISTRY_URL": registry.url,
                "CARELAY_TOPIC_PREFIX": f"c{uuid.uuid4().hex[:8]}.", "CARELAY_DATA_DIR": str(tmp / "var"),
                "CARELAY_DEMO_API_KEYS": "true", "CARELAY_GATEWAY_PORT": str(port)})
    proc = Proc("gateway", [sys.executable, "-m", "uvicorn", "gateway.app:create_app", "--factory", "--host",
                            "127.0.0.1", "--port", str(port), "--log-level", "warning"], env,
                tmp / "gateway.log").start()
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        try:
            return httpx.get(f"{url}/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until(ready, 90, f"gateway\n{proc.tail()}", 0.3)
        yield url
    finally:
        proc.stop()


def message(key: str, to: str = "+525512345678") -> Message:
    return Message(to=to, idempotency_key=key, channels=("WHATSAPP", "SMS"), template=REMINDER,
                   appointment_id=f"appt-{key}")


def test_sync_client(gateway):
    key = uuid.uuid4().hex
    with Client(gateway, SENDER) as carelay:
        accepted = carelay.send(message(key))
        assert isinstance(accepted, Accepted) and not accepted.replayed
        assert carelay.send(message(key)) == Accepted(accepted.message_id, replayed=True)
        state = wait_until(lambda: _state_or_none(carelay, accepted.message_id), 20, "the accepted message")
        assert state.status == "accepted" and state.message_id == accepted.message_id
        with pytest.raises(ApiError) as bad:
            carelay.send(message(uuid.uuid4().hex, to="5512345678"))
        assert (bad.value.status, bad.value.field) == (422, "to")
        batch = carelay.send_batch([message(uuid.uuid4().hex), message(uuid.uuid4().hex, to="nope")])
        assert (batch.accepted, batch.rejected) == (1, 1)
        assert batch.items[0].accepted is not None and batch.items[1].error is not None
        assert batch.items[1].error.field == "items[1].to"  # the gateway names the item
        with pytest.raises(ApiError) as missing:
            carelay.get_appointment("no-such-appointment")
        assert missing.value.status in (404, 503)
        with pytest.raises(ApiError) as forbidden:
            carelay.list_webhook_endpoints()
        assert forbidden.value.status == 403
    with Client(gateway, ADMIN) as admin:
        made = admin.create_webhook_endpoint("https://clinic.example/hooks", ["message.status_changed"],
                                             status_changes="all")
        assert made.secret is not None and made.secret.startswith("whsec_")
        wait_until(lambda: made.endpoint_id in {e.endpoint_id for e in admin.list_webhook_endpoints()}, 10, "listed")
        assert all(e.secret is None for e in admin.list_webhook_endpoints())
        admin.delete_webhook_endpoint(made.endpoint_id)


def _state_or_none(carelay: Client, message_id: str):  # type: ignore[no-untyped-def]
    try:
        return carelay.get_message(message_id)
    except ApiError as exc:
        if exc.status == 404:
            return None
        raise


def test_async_client(gateway):
    async def run() -> None:
        async with AsyncClient(gateway, SENDER) as carelay:
            key = uuid.uuid4().hex
            accepted = await carelay.send(message(key))
            batch = await carelay.send_batch([message(key)])
            assert batch.items[0].accepted == Accepted(accepted.message_id, replayed=True)
            for _ in range(100):
                try:
                    state = await carelay.get_message(accepted.message_id)
                    break
                except ApiError as exc:
                    assert exc.status == 404
                    await asyncio.sleep(0.2)
            assert state.status == "accepted"
            with pytest.raises(ApiError) as bad:
                await carelay.send(Message(to="+525512345678", idempotency_key=uuid.uuid4().hex,
                                           template=Template("no_such_template", "es")))
            assert bad.value.status == 422
    asyncio.run(run())


SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@pytest.mark.parametrize(("tamper", "ok"), [
    pytest.param(lambda h, b: (h, b), True, id="as-signed"),
    pytest.param(lambda h, b: (h, b + b" "), False, id="body-changed"),
    pytest.param(lambda h, b: ({**h, "webhook-timestamp": "1"}, b), False, id="timestamp-changed"),
    pytest.param(lambda h, b: ({k: v for k, v in h.items() if k != "webhook-signature"}, b), False,
                 id="unsigned"),
])
def test_verify_webhook(tamper, ok):
    body = b'{"type":"inbound.received","timestamp":1,"data":{}}'
    now = int(time.time())
    headers, body = tamper(webhook_signature.headers(SECRET, "evt_1", now, body), body)
    if ok:
        assert verify_webhook(SECRET, headers, body)["type"] == "inbound.received"
    else:
        with pytest.raises(WebhookVerificationError):
            verify_webhook(SECRET, headers, body)


def test_the_demo_reminders_go_through_the_client(gateway):
    from stack import demo

    run = uuid.uuid4().hex[:6]
    with Client(gateway, demo.SENDER_KEY) as carelay:
        batch = carelay.send_batch([demo._reminder(n, *p, run) for n, p in enumerate(demo.PATIENTS, 1)],
                                   idempotency_key=f"demo-{run}")
    assert (batch.accepted, batch.rejected) == (len(demo.PATIENTS), 0)
