"""Contract tests: every connector against the simulator, through the public interface only.

The simulator speaks the providers' HTTP APIs and sends their signed callbacks to a gateway stub;
the callbacks are parsed with the connectors' own parse functions, as the gateway and streams will.
"""
from __future__ import annotations

from typing import Any

import pytest

from connectors.base import ChannelInstance, Connector, OutboundMessage, SendResult
from connectors.errors import (
    FallbackError,
    FinalError,
    InDoubtError,
    InstanceError,
    ProviderError,
    RateLimitedError,
    RetryableError,
)
from connectors.meta.connector import MetaConnector
from connectors.meta.parse import parse_message, parse_status, split_webhook
from connectors.meta.webhooks import PATH as META_PATH
from connectors.twilio.connector import TwilioConnector
from connectors.twilio.parse import parse_call_status, parse_gather, parse_status_callback
from connectors.twilio.webhooks import PATHS as TWILIO_PATHS
from tests.connectors.conftest import CIPHER, D360_INSTANCE, INSTANCES, PSEUDONYMS, Stack, sim_settings

pytestmark = pytest.mark.anyio
PARAMS = {"patient_name": "Ana", "clinic": "Clinica Sur", "date": "12/05", "time": "10:30"}
# connector fixture, channel instance, the status a happy message ends in
TARGETS = {
    "twilio-sms": ("twilio", INSTANCES["SMS:twilio"], "delivered"),
    "twilio-whatsapp": ("twilio", INSTANCES["WHATSAPP:twilio"], "read"),
    "twilio-voice": ("twilio", INSTANCES["VOICE:twilio"], "delivered"),
    "meta": ("meta", INSTANCES["WHATSAPP:meta"], "read"),
    "d360": ("d360", D360_INSTANCE, "read"),
}


def message(stack: Stack, inst: ChannelInstance, to: str, n: int = 1, **kw: Any) -> OutboundMessage:
    base: dict[str, Any] = dict(message_id=f"m-{n}", attempt_id=f"m-{n}:0", organization_id="demo-clinic",
                                recipient_id=PSEUDONYMS("demo-clinic", to), to=to, channel=inst.channel,
                                language="es", template="appointment_reminder", params=PARAMS,
                                asks="confirm_cancel", callback_url=stack.gateway_url)
    base.update(kw)
    return OutboundMessage(**base)


def statuses(stack: Stack) -> list[dict[str, Any]]:
    """Every status callback the gateway received, verified and parsed to canonical form."""
    events: list[dict[str, Any]] = []
    for hit in stack.gateway.hits:
        assert hit.signature_ok, f"bad signature on {hit.path}"
        if hit.path.endswith("/twilio/status") and hit.form is not None:
            e = parse_status_callback(hit.form, hit.query, PSEUDONYMS)
        elif hit.path.endswith("/voice/status") and hit.form is not None:
            e = parse_call_status(hit.form, hit.query, PSEUDONYMS)
        elif hit.path.endswith("/meta") and hit.body is not None:
            for kind, item, metadata in split_webhook(hit.body):
                if kind == "status":
                    parsed = parse_status(item, metadata, PSEUDONYMS, provider="meta")
                    assert parsed is not None
                    events.append(parsed)
            continue
        else:
            continue
        assert e is not None
        events.append(e)
    return events


@pytest.fixture
def pick(twilio: TwilioConnector, meta: MetaConnector, d360: MetaConnector) -> Any:
    by_name: dict[str, Connector] = {"twilio": twilio, "meta": meta, "d360": d360}
    return by_name.__getitem__


@pytest.mark.parametrize("target", list(TARGETS))
async def test_send_reaches_the_patient_once_and_callbacks_come_back_verified(
        stack: Stack, pick: Any, target: str) -> None:
    name, inst, final = TARGETS[target]
    connector = pick(name)
    to = "+525512340001"
    result = await connector.send(inst, message(stack, inst, to))
    assert isinstance(result, SendResult) and result.status == "queued"
    stack.idle()
    [record] = stack.messages(to=to)
    assert (record["sid"], record["attempt_id"], record["message_id"]) == (result.provider_message_id, "m-1:0", "m-1")
    events = [e for e in statuses(stack) if e["provider_message_id"] == result.provider_message_id]
    assert events and events[-1]["status"] == final
    for e in events:
        assert (e["message_id"], e["attempt_id"]) == ("m-1", "m-1:0")
        assert e["recipient_id"] == PSEUDONYMS("demo-clinic", to)


async def test_template_kinds_reach_the_simulator_as_sent(stack: Stack, twilio: TwilioConnector,
                                                          meta: MetaConnector) -> None:
    to = "+525512340002"
    await meta.send(INSTANCES["WHATSAPP:meta"], message(stack, INSTANCES["WHATSAPP:meta"], to, 1))
    await meta.send(INSTANCES["WHATSAPP:meta"], message(stack, INSTANCES["WHATSAPP:meta"], to, 2, use_template=False,
                                                        template=None, params={}, text="Confirma?"))
    await twilio.send(INSTANCES["WHATSAPP:twilio"], message(stack, INSTANCES["WHATSAPP:twilio"], to, 3))
    await twilio.send(INSTANCES["SMS:twilio"], message(stack, INSTANCES["SMS:twilio"], to, 4))
    kinds = {r["message_id"]: r for r in stack.messages(to=to)}
    assert kinds["m-1"]["kind"] == "template" and kinds["m-1"]["payloads"] == ["confirm:m-1", "cancel:m-1"]
    assert kinds["m-2"]["kind"] == "interactive" and kinds["m-2"]["payloads"] == ["confirm:m-2", "cancel:m-2"]
    assert kinds["m-3"]["kind"] == "content" and str(kinds["m-3"]["content_sid"]).startswith("HX")
    assert kinds["m-4"]["kind"] == "text" and str(kinds["m-4"]["body"]).startswith("Hola Ana")


async def test_voice_question_comes_back_as_a_keypress(stack: Stack, twilio: TwilioConnector) -> None:
    inst = INSTANCES["VOICE:twilio"]
    to = "+525512340002"  # the demo preset's "press 2" number
    stack.scenario(preset="demo", callbacks={"delay_ms": 5})
    await twilio.send(inst, message(stack, inst, to, 7))
    stack.idle()
    [gather] = stack.gateway.of(TWILIO_PATHS["gather"])
    assert gather.signature_ok and gather.form is not None
    e = parse_gather(gather.form, gather.query, CIPHER, PSEUDONYMS)
    assert e is not None and (e["kind"], e["payload"]) == ("DIGITS", "cancel:m-7")


async def test_fetch_status_follows_the_message(stack: Stack, twilio: TwilioConnector, meta: MetaConnector) -> None:
    for key, final in (("SMS:twilio", "delivered"), ("WHATSAPP:twilio", "read"), ("VOICE:twilio", "delivered")):
        inst = INSTANCES[key]
        result = await twilio.send(inst, message(stack, inst, "+525512340003"))
        stack.idle()
        polled = await twilio.fetch_status(inst, result.provider_message_id)
        assert (polled["status"], polled["provider_message_id"], polled["channel"]) == (
            final, result.provider_message_id, inst.channel)
    sent = await meta.send(INSTANCES["WHATSAPP:meta"], message(stack, INSTANCES["WHATSAPP:meta"], "+525512340003"))
    assert (await meta.fetch_status(INSTANCES["WHATSAPP:meta"], sent.provider_message_id))["status"] is None


@pytest.mark.parametrize("key", ["SMS:twilio", "WHATSAPP:twilio", "VOICE:twilio"])
async def test_find_sent_after_a_crash(stack: Stack, twilio: TwilioConnector, key: str) -> None:
    inst = INSTANCES[key]
    to = "+525512340004"
    msg = message(stack, inst, to)
    since = _now_ms() - 1000
    assert await twilio.find_sent(inst, msg, since) is None
    result = await twilio.send(inst, msg)
    found = await twilio.find_sent(inst, msg, since)
    assert found is not None and found.provider_message_id == result.provider_message_id
    assert await twilio.find_sent(inst, msg, _now_ms() + 60_000) is None  # sent before the attempt: not it
    if key == "SMS:twilio":  # a different body to the same patient is not this attempt
        other = message(stack, inst, to, 2, template="help", params={"clinic": "X"}, asks=None)
        assert (await twilio.find_sent(inst, other, since)) is None


async def test_meta_has_no_lookup(stack: Stack, meta: MetaConnector) -> None:
    inst = INSTANCES["WHATSAPP:meta"]
    msg = message(stack, inst, "+525512340005")
    await meta.send(inst, msg)
    assert await meta.find_sent(inst, msg, 0) is None


SYNC_CASES = [
    ("twilio", "SMS:twilio", {"code": 21610}, FinalError),
    ("twilio", "SMS:twilio", {"code": 21211}, FinalError),
    ("twilio", "WHATSAPP:twilio", {"code": 21614}, FinalError),
    ("twilio", "SMS:twilio", {"code": 20429}, RateLimitedError),
    ("twilio", "VOICE:twilio", {"code": 21211}, FinalError),
    ("meta", "WHATSAPP:meta", {"code": 130429}, RateLimitedError),
    ("meta", "WHATSAPP:meta", {"code": 131056}, RateLimitedError),
    ("meta", "WHATSAPP:meta", {"code": 368}, InstanceError),
    ("meta", "WHATSAPP:meta", {"code": 190}, InstanceError),
    ("meta", "WHATSAPP:meta", {"code": 131026, "stage": "sync", "http_status": 500}, FallbackError),
    ("meta", "WHATSAPP:meta", {"code": 131000}, RetryableError),
]


@pytest.mark.parametrize(("name", "key", "rule", "expected"), SYNC_CASES)
async def test_send_errors_are_classified(stack: Stack, pick: Any, name: str, key: str, rule: dict[str, Any],
                                          expected: type[ProviderError]) -> None:
    inst = INSTANCES[key]
    to = "+525512349999"
    stack.scenario(rules=[{"to": "9999$", **rule}])
    with pytest.raises(expected) as caught:
        await pick(name).send(inst, message(stack, inst, to))
    assert type(caught.value) is expected
    assert caught.value.code == str(rule["code"])
    assert "9999" not in str(caught.value)  # no PHI in the message
    assert stack.messages(to=to) == []


ASYNC_CASES = [
    ("twilio", "SMS:twilio", 30003, "undelivered", "fallback"),
    ("twilio", "SMS:twilio", 30005, "undelivered", "fallback"),
    ("twilio", "SMS:twilio", 30006, "undelivered", "fallback"),
    ("twilio", "SMS:twilio", 30007, "undelivered", "fallback"),
    ("twilio", "SMS:twilio", 30008, "undelivered", "retryable"),
    ("twilio", "WHATSAPP:twilio", 63016, "failed", "fallback"),
    ("meta", "WHATSAPP:meta", 131047, "failed", "fallback"),
    ("meta", "WHATSAPP:meta", 131026, "failed", "fallback"),
    ("meta", "WHATSAPP:meta", 131051, "failed", "final"),
]


@pytest.mark.parametrize(("name", "key", "code", "status", "error_class"), ASYNC_CASES)
async def test_delivery_failures_arrive_classified(stack: Stack, pick: Any, name: str, key: str, code: int,
                                                   status: str, error_class: str) -> None:
    inst = INSTANCES[key]
    stack.scenario(rules=[{"to": "8888$", "code": code}], callbacks={"delay_ms": 5})
    result = await pick(name).send(inst, message(stack, inst, "+525512348888"))
    stack.idle()
    final = [e for e in statuses(stack) if e["provider_message_id"] == result.provider_message_id][-1]
    assert (final["status"], final["error_code"], final["error_class"]) == (status, str(code), error_class)


async def test_whatsapp_outage_then_recovery(stack: Stack, meta: MetaConnector) -> None:
    inst = INSTANCES["WHATSAPP:meta"]
    stack.scenario(outage={"provider": "meta", "seconds": 0.3})
    with pytest.raises(FallbackError) as caught:
        await meta.send(inst, message(stack, inst, "+525512340006"))
    assert (caught.value.code, caught.value.http_status) == ("131026", 500)
    import anyio
    await anyio.sleep(0.35)
    assert (await meta.send(inst, message(stack, inst, "+525512340006"))).status == "queued"


@pytest.mark.parametrize("name", ["twilio", "meta"])
async def test_transient_provider_failures_are_retryable(stack: Stack, pick: Any, name: str) -> None:
    key = "SMS:twilio" if name == "twilio" else "WHATSAPP:meta"
    stack.scenario(failure_rate=1.0, seed=1)
    with pytest.raises(RetryableError) as caught:
        await pick(name).send(INSTANCES[key], message(stack, INSTANCES[key], "+525512340007"))
    assert not caught.value.in_doubt and caught.value.http_status == 500


async def test_wrong_credentials_open_the_circuit(stack: Stack) -> None:
    from dataclasses import replace

    from starlette.datastructures import Secret

    settings = sim_settings(stack)
    bad_twilio = TwilioConnector(replace(settings.twilio, auth_token=Secret("wrong")))
    bad_meta = MetaConnector(replace(settings.meta, access_token=Secret("wrong")))
    try:
        for connector, key in ((bad_twilio, "SMS:twilio"), (bad_meta, "WHATSAPP:meta")):
            with pytest.raises(InstanceError) as caught:
                await connector.send(INSTANCES[key], message(stack, INSTANCES[key], "+525512340008"))
            assert caught.value.opens_circuit and caught.value.http_status == 401
    finally:
        await bad_twilio.aclose()
        await bad_meta.aclose()


async def test_unreachable_provider_is_retryable(stack: Stack) -> None:
    from dataclasses import replace

    from stack.simulator.server import free_port

    settings = sim_settings(stack)
    closed = f"http://127.0.0.1:{free_port()}"
    for connector, key in ((TwilioConnector(replace(settings.twilio, base_url=closed)), "SMS:twilio"),
                           (MetaConnector(replace(settings.meta, base_url=closed)), "WHATSAPP:meta")):
        with pytest.raises(RetryableError) as caught:
            await connector.send(INSTANCES[key], message(stack, INSTANCES[key], "+525512340009"))
        assert not caught.value.in_doubt
        await connector.aclose()


async def test_a_timeout_is_in_doubt_because_the_message_may_have_gone(stack: Stack) -> None:
    import anyio

    settings = sim_settings(stack)
    stack.scenario(latency_ms=300, callbacks={"delay_ms": 5})
    twilio_slow = TwilioConnector(settings.twilio, timeout_s=0.1)
    meta_slow = MetaConnector(settings.meta, timeout_s=0.1)
    sms, wa = INSTANCES["SMS:twilio"], INSTANCES["WHATSAPP:meta"]
    since = _now_ms() - 1000
    try:
        with pytest.raises(InDoubtError):
            await twilio_slow.send(sms, message(stack, sms, "+525512340011"))
        with pytest.raises(InDoubtError):
            await meta_slow.send(wa, message(stack, wa, "+525512340012"))
        await anyio.sleep(0.4)
        stack.idle()
        # both reached the patient: resending blindly would have sent twice
        assert len(stack.messages(to="+525512340011")) == len(stack.messages(to="+525512340012")) == 1
        stack.scenario()
        found = await twilio_slow.find_sent(sms, message(stack, sms, "+525512340011"), since)
        assert found is not None
    finally:
        await twilio_slow.aclose()
        await meta_slow.aclose()


async def test_injected_inbound_reply_is_signed_and_parses(stack: Stack, meta: MetaConnector) -> None:
    inst = INSTANCES["WHATSAPP:meta"]
    to = "+525512340010"
    sent = await meta.send(inst, message(stack, inst, to))
    with stack.sim() as c:
        r = c.post("/_sim/inbound", json={"provider": "meta", "from": to, "button_payload": "confirm:m-1",
                                          "button_text": "Confirmar"})
        assert r.json()["http_status"] == 200
    inbound = [(h, item) for h in stack.gateway.of(META_PATH) for item in split_webhook(h.body or {})
               if item[0] == "message"]
    [(hit, (kind, item, metadata))] = inbound
    assert hit.signature_ok
    e = parse_message(item, metadata, CIPHER, PSEUDONYMS, "demo-clinic")
    assert kind == "message" and e is not None
    assert (e["kind"], e["payload"], e["context_provider_message_id"]) == ("BUTTON", "confirm:m-1",
                                                                          sent.provider_message_id)


def _now_ms() -> int:
    import time
    return int(time.time() * 1000)


async def test_twilio_environment_variables_do_not_redirect_the_sdk(stack: Stack,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWILIO_REGION", "ie1")
    monkeypatch.setenv("TWILIO_EDGE", "dublin")
    connector = TwilioConnector(sim_settings(stack).twilio)
    try:
        sms = INSTANCES["SMS:twilio"]
        result = await connector.send(sms, message(stack, sms, "+525512340013"))
        assert result.provider_message_id.startswith("SM")
    finally:
        await connector.aclose()
