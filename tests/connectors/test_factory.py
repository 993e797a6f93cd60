"""The connector set built from Settings, and the structural interface check."""
from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from connectors.base import ChannelInstance, Connector, OutboundMessage
from connectors.errors import FinalError
from connectors.factory import Connectors
from schemas.errors import ConfigError
from tests.connectors.conftest import CIPHER, INSTANCES, SETTINGS

pytestmark = pytest.mark.anyio


async def publish(key: bytes, value: dict[str, Any]) -> None:
    return None


async def test_every_demo_instance_has_a_connector() -> None:
    connectors = Connectors.from_settings(SETTINGS, publish, CIPHER)
    try:
        for inst in INSTANCES.values():
            connector = connectors.for_instance(inst)
            assert isinstance(connector, Connector) and connector.provider == inst.provider
        with pytest.raises(ConfigError, match="d360"):
            connectors.for_instance(ChannelInstance("x", "o", "WHATSAPP", "d360", "1"))
    finally:
        await connectors.aclose()


async def test_360dialog_is_chosen_by_configuration() -> None:
    settings = replace(SETTINGS, meta=replace(SETTINGS.meta, auth_header="D360-API-KEY"))
    connectors = Connectors.from_settings(settings, publish, CIPHER)
    try:
        assert connectors["d360"].provider == "d360"
    finally:
        await connectors.aclose()


@pytest.mark.parametrize("key", ["SMS:twilio", "WHATSAPP:meta", "INAPP:inapp"])
async def test_bad_content_is_final_not_a_crash(key: str) -> None:
    connectors = Connectors.from_settings(SETTINGS, publish, CIPHER)
    inst = INSTANCES[key]
    try:
        for msg in (
            OutboundMessage("m", "m:0", "o", "r", to="+15551234567", channel=inst.channel, template="nope"),
            OutboundMessage("m", "m:0", "o", "r", to="+15551234567", channel=inst.channel, template="help",
                            params={}),
        ):
            with pytest.raises(FinalError):
                await connectors.for_instance(inst).send(inst, msg)
        if key != "INAPP:inapp":
            with pytest.raises(FinalError, match=r"E\.164"):
                await connectors.for_instance(inst).send(inst, OutboundMessage(
                    "m", "m:0", "o", "r", to="5551234567", channel=inst.channel, text="x", use_template=False))
    finally:
        await connectors.aclose()
