"""The whole pipeline as users run it (simulator, analytics owner, stream worker, gateway as separate
processes on the real broker and registry): messages reach patients exactly once, statuses come back,
and no clear-text PHI is left on any topic, in any log or in any analytics table."""
from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

from stack.pipeline import Pipeline, Ports

SENDER = {"Authorization": "Bearer demo-clinic-sender-key"}
ANALYST = {"Authorization": "Bearer demo-clinic-analyst-key"}
META_PHONE_NUMBER_ID = "100000000000001"
NAME = "Xochitl Quetzalli"
NOTICE = "Resultado critico de potasio, llame hoy"
PATIENTS = ["+525550001001", "+525550001002", "+525550011026", "+525550001003"]  # ...1026: no WhatsApp
REPLY = "Tengo dudas sobre mi tratamiento de insulina"


@pytest.fixture(scope="module")
def pipeline(kafka, registry, tmp_path_factory) -> Iterator[Pipeline]:
    tmp: Path = tmp_path_factory.mktemp("e2e")
    env = {
        "CARELAY_KAFKA_BOOTSTRAP": kafka.bootstrap,
        "CARELAY_SCHEMA_REGISTRY_URL": registry.url,
        "CARELAY_TOPIC_PREFIX": f"e2e{uuid.uuid4().hex[:6]}.",
        "CARELAY_ANALYTICS_GROUP_ID": f"e2e-analytics-{uuid.uuid4().hex[:6]}",
        "CARELAY_ANALYTICS_BATCH_INTERVAL_S": "0.3",
        "CARELAY_ANALYTICS_SQL_ORGS": "demo-clinic",  # the operator: its analyst key has /v1/sql
        "CARELAY_STREAMS_SESSION_TIMEOUT_S": "10",
        "CARELAY_LOG_LEVEL": "DEBUG",  # the most talkative logs are the ones to scan for PHI
    }
    with Pipeline(env, tmp, ports=Ports.free(), workers=1, scenario="demo") as pipe:
        yield pipe


@pytest.fixture
def gw(pipeline: Pipeline) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=pipeline.gateway_url, headers=SENDER, timeout=30) as client:
        yield client


@pytest.fixture
def sim(pipeline: Pipeline) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=pipeline.simulator_url, timeout=30) as client:
        yield client


def _send(gw: httpx.Client, to: str, key: str, **extra) -> str:
    body = {"to": to, "recipient_name": NAME, "patient_ref": "MRN-77001", "channels": ["WHATSAPP", "SMS", "VOICE"],
            "template": {"name": "urgent_notice", "language": "es",
                         "params": {"clinic": "Clinica Sur", "notice": NOTICE}},
            **extra}
    r = gw.post("/v1/messages", json=body, headers={"Idempotency-Key": key})
    assert r.status_code == 202, r.text
    return str(r.json()["message_id"])


def _final(gw: httpx.Client, ids: list[str], timeout: float = 60.0) -> dict[str, dict]:
    states: dict[str, dict] = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not all(states.get(i, {}).get("is_final") for i in ids):
        for i in ids:
            r = gw.get(f"/v1/messages/{i}")
            if r.status_code == 200:
                states[i] = r.json()
        time.sleep(0.5)
    missing = [i for i in ids if not states.get(i, {}).get("is_final")]
    assert not missing, f"not final after {timeout}s: {[states.get(i, {}).get('status') for i in missing]}"
    return states


def test_patients_get_exactly_one_message_and_statuses_come_back(gw: httpx.Client, sim: httpx.Client):
    ids = [_send(gw, to, f"e2e-{n}") for n, to in enumerate(PATIENTS)]
    assert _send(gw, PATIENTS[0], "e2e-0") == ids[0]  # a retried request is the same message
    states = _final(gw, ids)

    assert [states[i]["channel"] for i in ids] == ["WHATSAPP", "WHATSAPP", "SMS", "WHATSAPP"]
    assert all(states[i]["status"] in ("delivered", "read") for i in ids)
    for mid, to in zip(ids, PATIENTS, strict=True):
        got = sim.get("/_sim/messages", params={"message_id": mid}).json()["messages"]
        delivered = [m for m in got if m["status"] in ("delivered", "read")]
        assert len(delivered) == 1 and delivered[0]["to"] == to, "exactly one message reached the patient"
    history = [h["status"] for h in states[ids[2]]["history"]]
    assert history[0] == "accepted"
    assert "failed" in history or "undelivered" in history  # WhatsApp failed first, then SMS delivered


def test_inbound_reply_and_stop_reach_the_pipeline(gw: httpx.Client, sim: httpx.Client):
    patient = PATIENTS[3]
    sim.post("/_sim/inbound", json={"provider": "meta", "from": patient, "to": META_PHONE_NUMBER_ID,
                                    "text": REPLY}).raise_for_status()
    sim.post("/_sim/inbound", json={"provider": "meta", "from": patient, "to": META_PHONE_NUMBER_ID,
                                    "text": "STOP"}).raise_for_status()
    time.sleep(2.0)
    blocked = _send(gw, patient, "e2e-after-stop")
    state = _final(gw, [blocked])[blocked]
    assert state["status"] == "blocked"
    assert sim.get("/_sim/messages", params={"message_id": blocked}).json()["messages"] == []


def _clear_phi() -> list[bytes]:
    values = [NAME, NOTICE, REPLY, "MRN-77001", *PATIENTS, *(p.lstrip("+") for p in PATIENTS)]
    return [v.encode() for v in values]


def test_no_clear_phi_on_any_topic(pipeline: Pipeline, kafka):
    prefix = pipeline.env["CARELAY_TOPIC_PREFIX"]
    admin = AdminClient({"bootstrap.servers": kafka.bootstrap})
    topics = {n: t for n, t in admin.list_topics(timeout=10).topics.items() if n.startswith(prefix)}
    consumer = Consumer({"bootstrap.servers": kafka.bootstrap, "group.id": f"scan-{uuid.uuid4()}",
                         "enable.auto.commit": False})
    consumer.assign([TopicPartition(n, p, 0) for n, t in topics.items() for p in t.partitions])
    seen, idle = 0, 0
    while idle < 6:
        msg = consumer.poll(0.5)
        if msg is None or msg.error():
            idle += 1
            continue
        idle = 0
        seen += 1
        wire = (msg.key() or b"") + (msg.value() or b"") + b"".join(v or b"" for _, v in msg.headers() or [])
        for phi in _clear_phi():
            assert phi not in wire, f"clear PHI on {msg.topic()}"
    consumer.close()
    assert seen > 50  # the scan really read the pipeline's traffic (requests, dispatches, statuses, audit...)


def test_no_clear_phi_in_any_log(pipeline: Pipeline):
    logs = list(pipeline.log_dir.glob("*.log"))
    assert {p.stem for p in logs} >= {"gateway", "worker-0", "analytics", "simulator"}
    for path in logs:
        text = path.read_bytes()
        for phi in _clear_phi():
            assert phi not in text, f"clear PHI in {path.name}"


def test_no_clear_phi_in_analytics_tables(pipeline: Pipeline):
    with httpx.Client(base_url=pipeline.analytics_url, headers=ANALYST, timeout=30) as client:
        _scan_tables(client)


def _scan_tables(client: httpx.Client) -> None:
    columns = client.post("/v1/sql", json={"sql": "SELECT table, name FROM system.columns "
                                           "WHERE database = currentDatabase() AND type LIKE '%String%'"}).json()
    time.sleep(1.5)
    assert columns["rows"], columns
    for table, column in columns["rows"]:
        for phi in _clear_phi():
            sql = f"SELECT count() FROM `{table}` WHERE position(toString(`{column}`), {{v:String}}) > 0"
            r = client.post("/v1/sql", json={"sql": sql, "params": {"v": phi.decode()}})
            assert r.status_code == 200, r.text
            assert r.json()["rows"] == [[0]], f"clear PHI in {table}.{column}"
    events = client.post("/v1/sql", json={"sql": "SELECT count() FROM events"}).json()["rows"][0][0]
    assert events > 10
