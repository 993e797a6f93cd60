"""The in-app channel: one InAppNotification per attempt, published through the injected callable."""
from __future__ import annotations

from typing import Any

import pytest
from fastavro.validation import validate

from connectors.base import OutboundMessage
from connectors.errors import FallbackError, RetryableError
from connectors.inapp.connector import InAppConnector
from schemas import contracts
from schemas.phi import binding_of
from tests.connectors.conftest import CIPHER, INSTANCES

pytestmark = pytest.mark.anyio
MSG = OutboundMessage("m-1", "m-1:0", "demo-clinic", "rid-1", to="+5215512345678", channel="INAPP",
                      template="appointment_confirmed", params={"date": "12/05", "time": "10:30"})


async def test_publishes_a_sealed_notification_keyed_by_recipient() -> None:
    published: list[tuple[bytes, dict[str, Any]]] = []

    async def publish(key: bytes, value: dict[str, Any]) -> None:
        published.append((key, value))

    connector = InAppConnector(publish, CIPHER, clock=lambda: 1_700_000_000_000)
    result = await connector.send(INSTANCES["INAPP:inapp"], MSG)
    assert (result.provider_message_id, result.status) == ("m-1:0", "delivered")
    [(key, value)] = published
    assert key == b"rid-1"
    assert validate(value, contracts.parsed("InAppNotification"), raise_errors=True)
    assert value["notification_id"] == "m-1:0" and value["created_at"] == 1_700_000_000_000
    body = CIPHER.open("body", value["body"], binding_of("InAppNotification", value))
    assert body.startswith("Gracias, su cita del 12/05")
    assert await connector.find_sent(INSTANCES["INAPP:inapp"], MSG, 0) is None
    assert (await connector.fetch_status(INSTANCES["INAPP:inapp"], "m-1:0"))["status"] is None


async def test_publish_failure_is_retryable_and_wrong_channel_falls_back() -> None:
    async def broken(key: bytes, value: dict[str, Any]) -> None:
        raise ConnectionError("broker down")

    connector = InAppConnector(broken, CIPHER)
    with pytest.raises(RetryableError, match="publish: ConnectionError"):
        await connector.send(INSTANCES["INAPP:inapp"], MSG)
    with pytest.raises(FallbackError):
        await connector.send(INSTANCES["INAPP:inapp"], OutboundMessage(
            "m", "m:0", "o", "r", to="+15551234567", channel="SMS", template="help", params={"clinic": "c"}))
