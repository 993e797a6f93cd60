"""Twilio Messaging Services: an SMS or WhatsApp instance sends through a service (sender pool, sticky
sender) instead of one `from` number; built purely, then sent to the simulator and found again."""
from __future__ import annotations

import time
from dataclasses import replace

import pytest

from connectors.base import ChannelInstance, OutboundMessage
from connectors.errors import FallbackError
from connectors.twilio.connector import TwilioConnector
from connectors.twilio.requests import build_request
from schemas.templates import default_catalog
from stack.simulator.state import DEMO_MESSAGING_SERVICE_SID, SimulatorConfig
from tests.connectors.conftest import INSTANCES, PSEUDONYMS, Stack

CATALOG = default_catalog()
PARAMS = {"patient_name": "Ana", "clinic": "Clinica Sur", "date": "12/05", "time": "10:30"}
SERVICE = "MG" + "a" * 32


def with_service(key: str, sid: object) -> ChannelInstance:
    inst = INSTANCES[key]
    return replace(inst, config={**inst.config, "messaging_service_sid": sid})


def msg(channel: str, to: str = "+5215512345678", n: int = 1, callback_url: str = "https://gw.example",
        **kw: object) -> OutboundMessage:
    base: dict[str, object] = dict(message_id=f"m-{n}", attempt_id=f"m-{n}:0", organization_id="demo-clinic",
                                   recipient_id=PSEUDONYMS("demo-clinic", to), to=to, channel=channel,
                                   template="appointment_reminder", params=PARAMS, asks="confirm_cancel",
                                   callback_url=callback_url)
    base.update(kw)
    return OutboundMessage(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(("key", "sid", "to_param"), [
    pytest.param("SMS:twilio", SERVICE, "+5215512345678", id="sms-through-the-service"),
    pytest.param("WHATSAPP:twilio", SERVICE, "whatsapp:+5215512345678", id="whatsapp-through-the-service"),
])
def test_a_service_replaces_the_from_number(key, sid, to_param):
    req = build_request(with_service(key, sid), msg(INSTANCES[key].channel), CATALOG)
    assert req.params["messaging_service_sid"] == sid and "from_" not in req.params
    assert req.params["to"] == to_param


@pytest.mark.parametrize("sid", [
    pytest.param("MG123", id="too-short"),
    pytest.param("PN" + "a" * 32, id="not-a-service-sid"),
    pytest.param(42, id="not-a-string"),
])
def test_a_malformed_service_sid_falls_back(sid):
    with pytest.raises(FallbackError):
        build_request(with_service("SMS:twilio", sid), msg("SMS"), CATALOG)


def test_without_a_service_the_instance_number_sends():
    req = build_request(INSTANCES["SMS:twilio"], msg("SMS"), CATALOG)
    assert req.params["from_"] == INSTANCES["SMS:twilio"].sender and "messaging_service_sid" not in req.params


@pytest.mark.anyio
async def test_the_simulator_sends_from_the_pool_sticky_and_find_sent_matches_the_service(
        stack: Stack, twilio: TwilioConnector) -> None:
    inst = with_service("SMS:twilio", DEMO_MESSAGING_SERVICE_SID)
    pool = SimulatorConfig().messaging_services[DEMO_MESSAGING_SERVICE_SID]
    to = "+525512340077"
    since = int(time.time() * 1000) - 1000
    first = await twilio.send(inst, msg("SMS", to, 1, stack.gateway_url))
    second = await twilio.send(inst, msg("SMS", to, 2, stack.gateway_url, template="help", params={"clinic": "X"},
                                         asks=None))
    stack.idle()
    records = {r["sid"]: r for r in stack.messages(to=to)}
    senders = {records[s.provider_message_id]["sender"] for s in (first, second)}
    assert len(senders) == 1 and senders <= set(pool)  # one number of the pool, the same for this patient
    assert {records[s.provider_message_id]["messaging_service_sid"] for s in (first, second)} == {
        DEMO_MESSAGING_SERVICE_SID}
    found = await twilio.find_sent(inst, msg("SMS", to, 1, stack.gateway_url), since)
    assert found is not None and found.provider_message_id == first.provider_message_id


@pytest.mark.anyio
async def test_an_unknown_service_is_refused_by_the_simulator(stack: Stack, twilio: TwilioConnector) -> None:
    from connectors.errors import InstanceError

    with pytest.raises(InstanceError):  # this instance's configuration: another instance may still send
        await twilio.send(with_service("SMS:twilio", "MG" + "0" * 32), msg("SMS", "+525512340078", 3,
                                                                             stack.gateway_url))
