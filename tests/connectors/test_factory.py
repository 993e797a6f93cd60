"""The provider registry: the connector set built from Settings, capabilities, webhook routes."""
from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from connectors.base import ChannelInstance, Connector, OutboundMessage
from connectors.errors import FinalError
from connectors.factory import (
    PROVIDERS,
    Connectors,
    capabilities,
    interpreter,
    webhook_receivers,
    webhook_routes,
)
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


# the capabilities the streams ask for, one row per provider name the registry knows
CAPABILITY_ROWS = [
    # provider, can_lookup, resend_harmless, opt-out code, address family
    ("twilio", True, False, "21610", "twilio"),
    ("meta", False, False, None, "meta"),
    ("d360", False, False, None, "meta"),
    ("inapp", False, True, None, None),
    ("unknown", False, False, None, None),
]


@pytest.mark.parametrize(("provider", "lookup", "harmless", "opt_out", "family"), CAPABILITY_ROWS,
                         ids=[r[0] for r in CAPABILITY_ROWS])
def test_capabilities_by_provider(provider: str, lookup: bool, harmless: bool, opt_out: str | None,
                                  family: str | None) -> None:
    caps = capabilities(provider)
    assert (caps.can_lookup, caps.resend_harmless, caps.address_family) == (lookup, harmless, family)
    assert caps.opt_out_codes == (frozenset({opt_out}) if opt_out else frozenset())


def test_registry_covers_every_provider() -> None:
    assert set(PROVIDERS) == {"twilio", "meta", "d360", "inapp", "sns", "bird"}
    assert {p for p in PROVIDERS if interpreter(p) is not None} == {"twilio", "meta", "d360", "sns", "bird"}
    assert interpreter("inapp") is None
    assert set(webhook_receivers(SETTINGS)) == {provider for provider, _ in webhook_routes()}


def test_webhook_routes_are_unique_and_ordered() -> None:
    routes = [route for _, route in webhook_routes()]
    assert len({(r.path, r.method) for r in routes}) == len(routes)
    assert len({r.order for r in routes}) == len(routes)
