"""Bird Channels API: bodies, the error table, signatures, status events, and the connector against the
simulator."""
from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from connectors.base import ChannelInstance, OutboundMessage
from connectors.bird.capabilities import PROVIDER
from connectors.bird.connector import BirdConnector
from connectors.bird.errors import ERROR_MAP
from connectors.bird.parse import parse_status
from connectors.bird.payloads import build_payload
from connectors.bird.signature import sign, verify_signature
from connectors.bird.webhooks import items_of
from connectors.errors import (
    FallbackError,
    FinalError,
    InstanceError,
    RateLimitedError,
    RetryableError,
    classify_with,
)
from schemas.settings import BirdSettings
from schemas.templates import default_catalog
from stack.simulator.bird_api import event
from stack.simulator.server import SimulatorServer
from stack.simulator.state import SimulatorConfig

SMS = ChannelInstance("c-sms-bird", "clinic", "SMS", PROVIDER, "sms-channel-1")
WA = ChannelInstance("c-wa-bird", "clinic", "WHATSAPP", PROVIDER, "wa-channel-1",
                     config={"templates": {"appointment_reminder:es": {"projectId": "p-1", "version": "v-3"}}})
PARAMS = {"patient_name": "Ana", "clinic": "Clinica Sur", "date": "3/4", "time": "10:00"}


def _msg(to: str = "+15005550123", channel: str = "SMS", **over) -> OutboundMessage:
    values = {"template": "appointment_reminder", "params": PARAMS, "use_template": channel == "WHATSAPP"}
    return OutboundMessage("m1", "a1", "clinic", "r1", to, channel, **{**values, **over})


@pytest.mark.parametrize(("code", "http", "error"), [
    ("InvalidPayload", 422, FinalError),
    (None, 429, RateLimitedError),
    (None, 401, InstanceError),
    ("NotFound", 404, InstanceError),
    ("delivery_failed", None, FallbackError),
    ("sending_failed", None, RetryableError),
    (None, 503, RetryableError),
], ids=["invalid-payload", "too-many-requests", "unauthorized", "channel-not-found", "delivery-failed",
        "sending-failed", "unavailable"])
def test_error_table(code, http, error):
    assert classify_with(ERROR_MAP, code, http) is error


def test_an_sms_body_carries_the_text_and_our_reference():
    body = build_payload(SMS, _msg(), default_catalog())
    assert body["receiver"] == {"contacts": [{"identifierKey": "phonenumber", "identifierValue": "+15005550123"}]}
    assert body["body"]["type"] == "text" and "Ana" in body["body"]["text"]["text"]
    assert body["reference"] == "org=clinic&message_id=m1&attempt_id=a1"


def test_a_whatsapp_template_names_the_senders_project():
    body = build_payload(WA, _msg(channel="WHATSAPP"), default_catalog())
    assert "body" not in body
    assert body["template"]["projectId"] == "p-1" and body["template"]["version"] == "v-3"
    assert {"type": "string", "key": "clinic", "value": "Clinica Sur"} in body["template"]["parameters"]


@pytest.mark.parametrize(("instance", "msg", "error"), [
    (replace(WA, config={}), _msg(channel="WHATSAPP"), FallbackError),
    (SMS, _msg(channel="VOICE"), FallbackError),
    (SMS, _msg(to="12345"), FinalError),
    (SMS, _msg(template="no_such_template"), FinalError),
], ids=["template-not-set-up", "voice", "not-e164", "unknown-template"])
def test_refused_bodies(instance, msg, error):
    with pytest.raises(error):
        build_payload(instance, msg, default_catalog())


def test_signature_covers_timestamp_url_and_body():
    raw, url = b'{"event":"sms.outbound"}', "https://gw.example/webhooks/bird"
    header = sign(b"key", "1719823259", url, raw)
    assert verify_signature(b"key", "1719823259", url, raw, header)
    assert not verify_signature(b"key", "1719823260", url, raw, header)
    assert not verify_signature(b"key", "1719823259", url + "?x=1", raw, header)
    assert not verify_signature(b"key", "1719823259", url, raw + b" ", header)
    assert not verify_signature(b"other", "1719823259", url, raw, header)
    assert not verify_signature(b"key", "1719823259", url, raw, "not base64!")


@pytest.mark.parametrize(("status", "canonical", "code"), [
    ("sent", "sent", None), ("delivered", "delivered", None), ("delivery_failed", "undelivered", "delivery_failed"),
], ids=["sent", "delivered", "delivery-failed"])
def test_status_events(status, canonical, code):
    message = {"id": "b-1", "channelId": "wa-channel-1",
               "receiver": {"contacts": [{"identifierValue": "+15005550123"}]},
               "reference": "org=clinic&message_id=m1&attempt_id=a1"}
    [item] = items_of(event(message, status), lambda address: None)
    assert (item.kind, item.organization_id, item.patient, item.query["message_id"]) == (
        "status", "clinic", "+15005550123", "m1")
    record = parse_status(item.fields, lambda org, number: f"{org}:{number[-4:]}", None, 1)
    assert record is not None
    got = tuple(record[k] for k in ("status", "channel", "error_code", "recipient_id", "attempt_id"))
    assert got == (canonical, "WHATSAPP", code, "clinic:0123", "a1")


def test_other_events_are_not_items():
    assert items_of({"service": "channels", "event": "sms.inbound", "payload": {"id": "x", "status": "delivered"}},
                    lambda address: None) == []


@pytest.fixture(scope="module")
def sim():
    with SimulatorServer(SimulatorConfig(gateway_url="http://127.0.0.1:9", bird_status_delay_s=0.0)) as server:
        yield server


def _send(sim, instance, msg, **over):
    async def run():
        connector = BirdConnector(replace(BirdSettings(), base_url=sim.url, **over))
        try:
            return await connector.send(instance, msg)
        finally:
            await connector.aclose()

    return asyncio.run(run())


def test_send_sms_and_whatsapp_through_the_simulator(sim):
    sms = _send(sim, SMS, _msg())
    wa = _send(sim, WA, _msg(to="+15005550124", channel="WHATSAPP"))
    store = sim.app.state.sim.store
    assert (sms.status, sms.provider_status) == ("queued", "accepted")
    assert (store.get(sms.provider_message_id).channel, store.get(wa.provider_message_id).channel) == ("SMS",
                                                                                                        "WHATSAPP")
    assert store.get(wa.provider_message_id).template == "p-1"


@pytest.mark.parametrize(("to", "over", "error"), [
    ("+15005559990", {}, RateLimitedError),
    ("+15005550123", {"workspace_id": "elsewhere"}, InstanceError),
], ids=["throttled", "unknown-workspace"])
def test_refusals_through_the_simulator(sim, to, over, error):
    with pytest.raises(error) as caught:
        _send(sim, SMS, _msg(to=to), **over)
    assert "+1500" not in str(caught.value)


def test_a_wrong_access_key_opens_the_circuit(sim):
    from starlette.datastructures import Secret

    with pytest.raises(InstanceError):
        _send(sim, SMS, _msg(), access_key=Secret("wrong"))
