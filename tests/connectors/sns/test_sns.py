"""SNS SMS: the error table, boto3 against the simulator's SNS endpoint, and its signed delivery reports."""
from __future__ import annotations

import asyncio
import json
from dataclasses import replace

import pytest

from connectors.base import ChannelInstance, OutboundMessage
from connectors.errors import FallbackError, FinalError, InstanceError, RateLimitedError, RetryableError, classify_with
from connectors.factory import capabilities
from connectors.sns.capabilities import PROVIDER
from connectors.sns.connector import ORIGINATION_NUMBER, SMS_TYPE, SnsConnector
from connectors.sns.errors import ERROR_MAP, OPT_OUT
from connectors.sns.parse import parse_status
from connectors.sns.signature import load_certificate, verify_message
from connectors.sns.webhooks import items_of
from schemas.settings import SnsSettings
from stack.simulator.server import SimulatorServer
from stack.simulator.sns_api import delivery_record, notification
from stack.simulator.state import SimulatorConfig


@pytest.mark.parametrize(("code", "http", "error"), [
    ("Throttling", 400, RateLimitedError),
    ("InvalidParameter", 400, FinalError),
    (OPT_OUT, 400, FinalError),
    ("AuthorizationError", 403, InstanceError),
    ("InternalError", 500, RetryableError),
    ("SomethingNew", 400, FallbackError),
], ids=["throttling", "invalid-parameter", "opted-out", "authorization", "internal", "unknown-4xx"])
def test_error_table(code, http, error):
    assert classify_with(ERROR_MAP, code, http) is error


def test_opted_out_is_an_opt_out_code():
    assert capabilities(PROVIDER).is_opt_out(OPT_OUT)


INSTANCE = ChannelInstance("c-sms-sns", "clinic", "SMS", PROVIDER, "+15005550010")


def _msg(to: str) -> OutboundMessage:
    return OutboundMessage("m1", "a1", "clinic", "r1", to, "SMS", text="Recordatorio de cita", use_template=False)


@pytest.fixture(scope="module")
def sim():
    config = SimulatorConfig(gateway_url="http://127.0.0.1:9", sns_report_delay_s=0.0)  # nobody listens
    with SimulatorServer(config) as server:
        yield server


def _connector(sim, **over) -> SnsConnector:
    return SnsConnector(replace(SnsSettings(), endpoint_url=sim.url + "/sns", **over))


@pytest.mark.parametrize(("to", "error"), [
    ("+15005559990", RateLimitedError),
    ("+15005559991", FinalError),
], ids=["throttled", "opted-out"])
def test_publish_refused(sim, to, error):
    async def run():
        connector = _connector(sim)
        try:
            with pytest.raises(error) as caught:
                await connector.send(INSTANCE, _msg(to))
            return caught.value
        finally:
            await connector.aclose()

    exc = asyncio.run(run())
    assert exc.provider == PROVIDER and "+1500" not in str(exc)


def test_publish_with_wrong_credentials_opens_the_circuit(sim):
    async def run():
        connector = _connector(sim, access_key_id="AKIAOTHER")
        try:
            with pytest.raises(InstanceError):
                await connector.send(INSTANCE, _msg("+15005550123"))
        finally:
            await connector.aclose()

    asyncio.run(run())


def test_publish_through_boto3_and_the_signed_delivery_report(sim, tmp_path):
    async def run():
        connector = _connector(sim)
        try:
            return await connector.send(INSTANCE, _msg("+15005550123"))
        finally:
            await connector.aclose()

    result = asyncio.run(run())
    assert result.status == "queued"
    published = sim.app.state.sim.sns_published[-1]
    assert published["MessageId"] == result.provider_message_id
    assert published["PhoneNumber"] == "+15005550123" and published["Message"] == "Recordatorio de cita"
    assert published[SMS_TYPE] == "Transactional" and published[ORIGINATION_NUMBER] == INSTANCE.sender

    state = sim.app.state.sim
    key = load_certificate(state.sns_cert_pem)
    doc = notification(state, json.dumps(delivery_record(result.provider_message_id, "+15005550123", False)),
                       sim.url)
    topic = SnsSettings().status_topic_arn
    assert verify_message(key, doc, topic)
    assert not verify_message(key, {**doc, "Message": doc["Message"].replace("SUCCESS", "FAILURE")}, topic)
    assert not verify_message(key, doc, topic + "-other")
    assert not verify_message(key, {**doc, "SignatureVersion": "1"}, topic)

    [item] = items_of(doc, "clinic")
    assert item.kind == "status" and item.patient == "+15005550123" and item.organization_id == "clinic"
    status = parse_status(item.fields, lambda org, number: f"{org}:{number[-4:]}", "clinic", 1)
    assert status is not None
    assert (status["status"], status["provider_message_id"], status["recipient_id"]) == (
        "delivered", result.provider_message_id, "clinic:0123")
    assert status["price_micros"] == 6450 and status["error_code"] is None


@pytest.mark.parametrize(("response", "code", "error_class"), [
    ("Phone is currently opted out", OPT_OUT, "final"),
    ("Unknown error attempting to reach phone", "UnknownError", "retryable"),
], ids=["opted-out", "unknown"])
def test_failed_delivery_report(response, code, error_class):
    record = delivery_record("mid-1", "+15005550123", True)
    record["delivery"]["providerResponse"] = response
    [item] = items_of({"Type": "Notification", "Message": json.dumps(record)}, "clinic")
    status = parse_status(item.fields, lambda org, number: "rid", "clinic", 1)
    assert status is not None
    assert (status["status"], status["error_code"], status["error_class"]) == ("failed", code, error_class)
