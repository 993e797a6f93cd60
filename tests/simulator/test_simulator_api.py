"""The simulator over HTTP: auth, Twilio list filters, callback behaviours at the gateway, inbound
injection, the message record, and `python -m stack.simulator`."""
from __future__ import annotations

import base64
import subprocess
import sys
import time
from urllib.parse import parse_qs

import httpx
import pytest

from connectors.base import OutboundMessage
from connectors.meta.webhooks import PATH as META_PATH
from connectors.twilio.connector import TwilioConnector
from connectors.twilio.parse import parse_inbound
from connectors.twilio.webhooks import PATHS as TWILIO_PATHS
from stack.simulator.server import free_port
from tests.connectors.conftest import CIPHER, INSTANCES, PSEUDONYMS, SETTINGS, Stack, sim_settings

SID = SETTINGS.twilio.account_sid
MESSAGES = f"/2010-04-01/Accounts/{SID}/Messages.json"


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


AUTH = basic(SID, str(SETTINGS.twilio.auth_token))


def send_sms(stack: Stack, to: str, n: int = 1) -> dict[str, object]:
    with stack.sim() as c:
        r = c.post(MESSAGES, headers=AUTH, data={
            "To": to, "From": SETTINGS.twilio.sms_from, "Body": f"hola {n}",
            "StatusCallback": f"{stack.gateway_url}/webhooks/twilio/status?org=o&message_id=m{n}&attempt_id=m{n}:0"})
        assert r.status_code == 201, r.text
        created: dict[str, object] = r.json()
        return created


def test_twilio_auth_is_checked(stack: Stack) -> None:
    with stack.sim() as c:
        assert c.post(MESSAGES, data={"To": "+15551230001"}).status_code == 401
        r = c.post(MESSAGES, headers=basic(SID, "wrong"), data={"To": "+15551230001"})
        assert (r.status_code, r.json()["code"]) == (401, 20003)
        other = f"/2010-04-01/Accounts/AC{'1' * 32}/Messages.json"
        assert c.post(other, headers=AUTH, data={"To": "+15551230001"}).status_code == 401


def test_twilio_validation_errors(stack: Stack) -> None:
    with stack.sim() as c:
        assert c.post(MESSAGES, headers=AUTH, data={"From": "+15005550006", "Body": "x"}).json()["code"] == 21604
        assert c.post(MESSAGES, headers=AUTH, data={"To": "12", "From": "+15005550006", "Body": "x"}).json()[
            "code"] == 21211
        assert c.post(MESSAGES, headers=AUTH, data={"To": "+15551230001", "From": "+15005550006"}).json()[
            "code"] == 21602


def test_meta_and_360dialog_auth(stack: Stack) -> None:
    body = {"messaging_product": "whatsapp", "to": "15551230001", "type": "text", "text": {"body": "hola"}}
    path = f"/v21.0/{SETTINGS.meta.phone_number_id}/messages"
    with stack.sim() as c:
        r = c.post(path, json=body, headers={"Authorization": "Bearer wrong"})
        assert (r.status_code, r.json()["error"]["code"]) == (401, 190)
        ok = c.post(path, json=body, headers={"Authorization": f"Bearer {SETTINGS.meta.access_token}"})
        assert ok.status_code == 200 and ok.json()["messages"][0]["id"].startswith("wamid.")
        assert c.post("/messages", json=body, headers={"D360-API-KEY": "wrong"}).status_code == 401
        assert c.post("/messages", json=body, headers={"D360-API-KEY": "dev-d360-api-key"}).status_code == 200
        bad = c.post(path, json={**body, "type": "interactive", "interactive": {"type": "button", "action": {
            "buttons": [{"type": "reply", "reply": {"id": str(i), "title": "t"}} for i in range(4)]}}},
            headers={"Authorization": f"Bearer {SETTINGS.meta.access_token}"})
        assert (bad.status_code, bad.json()["error"]["code"]) == (400, 131009)


def test_twilio_list_filters_by_recipient_and_date(stack: Stack) -> None:
    send_sms(stack, "+15551230001", 1)
    send_sms(stack, "+15551230002", 2)
    stack.idle()
    with stack.sim() as c:
        listed = c.get(MESSAGES, headers=AUTH, params={"To": "+15551230001"}).json()["messages"]
        assert [m["body"] for m in listed] == ["hola 1"]
        today = time.strftime("%Y-%m-%d", time.gmtime())
        assert len(c.get(MESSAGES, headers=AUTH, params={"DateSent>": today}).json()["messages"]) == 2
        assert c.get(MESSAGES, headers=AUTH, params={"DateSent<": "2000-01-01"}).json()["messages"] == []
        page = c.get(MESSAGES, headers=AUTH, params={"PageSize": "1"}).json()
        assert len(page["messages"]) == 1 and page["next_page_uri"]


@pytest.mark.parametrize(
    ("callbacks", "expected"),
    [
        ({"duplicate": True}, ["sent", "sent", "delivered", "delivered"]),
        ({"out_of_order": True}, ["delivered", "sent"]),
        ({"drop": True}, []),
    ],
)
def test_callback_behaviours_reach_the_gateway(stack: Stack, callbacks: dict[str, bool], expected: list[str]) -> None:
    stack.scenario(callbacks={"delay_ms": 5, **callbacks})
    created = send_sms(stack, "+15551230003")
    stack.idle()
    hits = stack.gateway.of(TWILIO_PATHS["status"])
    assert [h.form["MessageStatus"] for h in hits if h.form] == expected
    assert all(h.signature_ok and h.query["attempt_id"] == "m1:0" for h in hits)
    # the resource itself shows the furthest status whatever order the callbacks took
    with stack.sim() as c:
        assert c.get(f"/2010-04-01/Accounts/{SID}/Messages/{created['sid']}.json", headers=AUTH).json()[
            "status"] == "delivered"


def test_meta_retries_a_failing_webhook(stack: Stack) -> None:
    stack.gateway.status_code = 500
    with stack.sim() as c:
        c.post("/_sim/inbound", json={"provider": "meta", "from": "+15551230004", "text": "hola"})
        deliveries = c.get("/_sim/callbacks").json()["callbacks"]
    assert deliveries[-1]["attempts"] == 4 and deliveries[-1]["http_status"] == 500
    assert len(stack.gateway.of(META_PATH)) == 4


def test_twilio_inbound_whatsapp_button_refers_to_our_last_message(stack: Stack) -> None:
    to, ours = "+15551230005", f"whatsapp:{SETTINGS.twilio.whatsapp_from}"
    with stack.sim() as c:
        sent = c.post(MESSAGES, headers=AUTH, data={"To": f"whatsapp:{to}", "From": ours,
                                                    "ContentSid": "HX" + "0" * 32}).json()
        r = c.post("/_sim/inbound", json={"provider": "twilio", "from": to, "to": ours,
                                          "button_payload": "confirm", "button_text": "Confirmar"})
    assert r.json()["http_status"] == 200
    [hit] = stack.gateway.of(TWILIO_PATHS["inbound"])
    assert hit.signature_ok and hit.form is not None
    e = parse_inbound(hit.form, CIPHER, PSEUDONYMS, "demo-clinic")
    assert (e["kind"], e["payload"], e["context_provider_message_id"]) == ("BUTTON", "confirm", sent["sid"])


def test_inbound_needs_a_number_and_content(stack: Stack) -> None:
    with stack.sim() as c:
        assert c.post("/_sim/inbound", json={"provider": "twilio", "from": "nope", "text": "x"}).status_code == 400
        assert c.post("/_sim/inbound", json={"provider": "twilio", "from": "+15551230001"}).status_code == 400
        assert c.post("/_sim/inbound", json={"provider": "fax", "from": "+15551230001", "text": "x"}).status_code == 400


@pytest.mark.anyio
async def test_the_record_answers_how_many_reached_a_patient(stack: Stack) -> None:
    connector = TwilioConnector(sim_settings(stack).twilio)
    inst = INSTANCES["SMS:twilio"]
    try:
        for attempt in ("m-1:0", "m-1:1"):
            await connector.send(inst, OutboundMessage("m-1", attempt, "demo-clinic", "r", to="+15551230006",
                                                       channel="SMS", text="hola", callback_url=stack.gateway_url))
    finally:
        await connector.aclose()
    assert len(stack.messages(to="+15551230006")) == 2
    assert [m["attempt_id"] for m in stack.messages(attempt_id="m-1:1")] == ["m-1:1"]
    assert stack.messages(message_id="m-1", channel="WHATSAPP") == []
    with stack.sim() as c:
        assert c.delete("/_sim/messages").status_code == 204
    assert stack.messages() == []


def test_scenario_endpoint_round_trip(stack: Stack) -> None:
    with stack.sim() as c:
        got = c.post("/_sim/scenarios", json={"preset": "demo", "latency_ms": 3}).json()
        assert got["latency_ms"] == 3 and len(got["rules"]) >= 5
        assert c.get("/_sim/scenarios").json() == got
        assert c.post("/_sim/scenarios", json={"bogus": 1}).status_code == 400
        assert c.delete("/_sim/scenarios").status_code == 204
        assert c.get("/_sim/scenarios").json()["rules"] == []


def test_module_entry_point_serves(tmp_path: object) -> None:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "stack.simulator", "--port", str(port), "--scenario", "demo",
                             "--gateway-url", "http://127.0.0.1:9"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/_sim/health", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.05)
        assert r.json()["status"] == "ok"
        rules = httpx.get(f"http://127.0.0.1:{port}/_sim/scenarios").json()["rules"]
        assert any(rule["code"] == 30006 for rule in rules)
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert b"+1555" not in err


def test_attempt_ids_travel_in_the_callback_query(stack: Stack) -> None:
    send_sms(stack, "+15551230007", 9)
    stack.idle()
    [record] = stack.messages(to="+15551230007")
    assert (record["attempt_id"], record["message_id"], record["org"]) == ("m9:0", "m9", "o")
    hit = stack.gateway.of(TWILIO_PATHS["status"])[0]
    assert parse_qs(f"attempt_id={hit.query['attempt_id']}") == {"attempt_id": ["m9:0"]}
