"""The pipeline under test as separate processes: provider simulator, gateway (webhooks), stream
worker(s); plus a producer of SendRequests and readers of the output topics."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from confluent_kafka import Consumer, Producer, TopicPartition

from schemas.phi import Binding, PhiCipher, Pseudonymizer
from schemas.registry import ConfluentRegistry
from schemas.settings import Settings
from schemas.topics import Catalog
from stack.javaproc import free_port
from stack.simulator.sns_keys import write_signing_pair

REPO = Path(__file__).resolve().parents[2]
ORG = "demo-clinic"  # connectors.instances demo set: wa-meta, wa-twilio, sms-twilio, voice-twilio, inapp


class Proc:
    def __init__(self, name: str, args: list[str], env: Mapping[str, str], log: Path) -> None:
        self.name, self.args, self.env, self.log = name, args, dict(env), log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Proc:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(self.args, cwd=REPO, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        return self

    def tail(self, n: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-n:] if self.log.exists() else ""

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        if self.alive():
            assert self.proc is not None
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self, timeout: float = 30) -> None:
        if not self.alive():
            return
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()


def wait_until(check: Callable[[], Any], timeout: float, what: str, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class TopicReader:
    """Reads one topic from the beginning, decoding its records, accumulating everything seen."""

    def __init__(self, bootstrap: str, topic: Any) -> None:
        self.topic = topic
        self.consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"test-{uuid.uuid4().hex}",
                                  "enable.auto.commit": False, "auto.offset.reset": "earliest"})
        meta = self.consumer.list_topics(topic.name, timeout=10).topics[topic.name]
        self.consumer.assign([TopicPartition(topic.name, p, 0) for p in meta.partitions])
        self.records: list[dict[str, Any]] = []
        self.meta: list[tuple[int, int, int]] = []  # (partition, offset, timestamp ms)

    def poll(self, seconds: float = 0.2) -> list[dict[str, Any]]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            msgs = self.consumer.consume(500, timeout=0.05)
            for m in msgs:
                if m.error() is None and m.value() is not None:
                    self.records.append(self.topic.codec.decode(m.value()))
                    self.meta.append((m.partition(), m.offset(), m.timestamp()[1]))
            if not msgs:
                break
        return self.records

    def wait(self, check: Callable[[list[dict[str, Any]]], Any], timeout: float, what: str) -> list[dict[str, Any]]:
        """Poll until `check(records so far)` is true; returns every record read."""
        wait_until(lambda: check(self.poll()), timeout, what)
        return self.records

    def close(self) -> None:
        self.consumer.close()


@dataclass
class Stack:
    """Simulator + gateway shared by the tests of one session; workers start per profile."""

    settings_env: dict[str, str]
    tmp: Path
    sim_port: int = field(default_factory=free_port)
    gw_port: int = field(default_factory=free_port)
    procs: list[Proc] = field(default_factory=list)

    @property
    def sim_url(self) -> str:
        return f"http://127.0.0.1:{self.sim_port}"

    @property
    def gw_url(self) -> str:
        return f"http://127.0.0.1:{self.gw_port}"

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CARELAY_")}
        env.update(self.settings_env)
        env.update({
            "CARELAY_TWILIO_BASE_URL": self.sim_url, "CARELAY_META_BASE_URL": self.sim_url,
            "CARELAY_SNS_ENDPOINT_URL": f"{self.sim_url}/sns", "CARELAY_BIRD_BASE_URL": self.sim_url,
            "CARELAY_PUBLIC_URL": self.gw_url, "CARELAY_GATEWAY_PORT": str(self.gw_port),
            "CARELAY_STREAMS_METRICS_PORT": "0", "CARELAY_LOG_LEVEL": "INFO", "PYTHONUNBUFFERED": "1",
        })
        env.update(extra or {})
        return env

    def start(self) -> Stack:
        # the simulator signs SNS notifications with this key, the gateway verifies them with its certificate
        sns_key, sns_cert = write_signing_pair(self.tmp / "sns")
        self.settings_env["CARELAY_SNS_SIGNING_CERT_FILE"] = str(sns_cert)
        env = self.env()
        sim = Proc("simulator", [sys.executable, "-m", "stack.simulator", "--port", str(self.sim_port),
                                 "--gateway-url", self.gw_url, "--sns-signing-key", str(sns_key)], env,
                   self.tmp / "simulator.log").start()
        gw = Proc("gateway", [sys.executable, "-m", "uvicorn", "gateway.app:create_app", "--factory", "--host",
                              "127.0.0.1", "--port", str(self.gw_port), "--no-access-log", "--log-level", "warning"],
                  env, self.tmp / "gateway.log").start()
        self.procs += [sim, gw]
        wait_until(lambda: _ok(f"{self.sim_url}/_sim/health"), 60, f"simulator\n{sim.tail()}", 0.3)
        wait_until(lambda: _ok(f"{self.gw_url}/readyz"), 90, f"gateway\n{gw.tail()}", 0.3)
        return self

    def worker(self, name: str, extra: Mapping[str, str] | None = None) -> Proc:
        proc = Proc(name, [sys.executable, "-m", "streams", "worker"], self.env(extra), self.tmp / f"{name}.log")
        self.procs.append(proc)
        return proc.start()

    def stop(self) -> None:
        for proc in reversed(self.procs):
            proc.stop(20)

    # -- simulator --------------------------------------------------------------------------
    def scenario(self, scenario: Mapping[str, Any]) -> None:
        httpx.post(f"{self.sim_url}/_sim/scenarios", json=dict(scenario), timeout=10).raise_for_status()

    def sent(self, to: str | None = None, **query: str) -> list[dict[str, Any]]:
        params = {k: v for k, v in {"to": to, **query}.items() if v is not None}
        r = httpx.get(f"{self.sim_url}/_sim/messages", params=params, timeout=10)
        r.raise_for_status()
        return list(r.json()["messages"])

    def patient_says(self, number: str, text: str, *, provider: str = "twilio", channel: str = "SMS",
                     to: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"provider": provider, "from": number, "text": text, "channel": channel}
        if to is not None:
            body["to"] = to
        r = httpx.post(f"{self.sim_url}/_sim/inbound", json=body, timeout=10)
        r.raise_for_status()
        return dict(r.json())


def _ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


class Client:
    """Writes SendRequests the way any producer would (Confluent Avro, murmur2 partitioner)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.registry = ConfluentRegistry(settings.kafka.schema_registry_url)
        self.catalog = Catalog(settings.kafka.topic_prefix, self.registry)
        self.cipher = PhiCipher(settings.phi_keys)
        self.pseudonymize = Pseudonymizer(settings.pseudonym_key_bytes)
        self.producer = Producer({"bootstrap.servers": settings.kafka.bootstrap, "partitioner": "murmur2_random",
                                  "linger.ms": 1})

    def request(self, to: str, *, channels: Iterable[str] = ("WHATSAPP", "SMS"), template: str | None = None,
                params: Mapping[str, str] | None = None, text: str | None = None, language: str = "es",
                priority: str = "NORMAL", idempotency_key: str | None = None, message_id: str | None = None,
                send_at: int | None = None, automated: bool = False) -> dict[str, Any]:
        message_id = message_id or str(uuid.uuid4())
        bound = Binding(ORG, message_id)  # as the gateway seals (schemas.phi.RECORD_IDS)

        def seal(field: str, value: str) -> Any:
            return self.cipher.seal(field, value, bound)

        if template is None and text is None:
            template = "appointment_reminder"
            params = {"patient_name": "Ana", "clinic": "Clinica Sur", "date": "3/4", "time": "10:00"}
        now = int(time.time() * 1000)
        return {
            "message_id": message_id, "organization_id": ORG,
            "idempotency_key": idempotency_key or uuid.uuid4().hex, "recipient": seal("recipient", to),
            "recipient_id": self.rid(to), "patient_ref": None, "recipient_name": None, "channels": list(channels),
            "content": {"template": template, "language": language,
                        "params": seal("params", json.dumps(params)) if params is not None else None,
                        "text": seal("text", text) if text is not None else None},
            "priority": priority, "send_at": send_at, "expires_at": None, "correlation_id": None,
            "appointment_id": None, "created_at": now, "source": "producer", "automated_reply": automated,
            "metadata": {},
        }

    def rid(self, number: str) -> str:
        return self.pseudonymize(ORG, number)

    def send(self, *requests: Mapping[str, Any], producer: Producer | None = None) -> None:
        topic = self.catalog.send_requests
        p = producer or self.producer
        for req in requests:
            p.produce(topic.name, key=req["recipient_id"].encode(), value=topic.codec.encode(dict(req)))
        assert p.flush(10) == 0

    def publish(self, attr: str, key: bytes, record: Mapping[str, Any], partition: int | None = None) -> None:
        topic = getattr(self.catalog, attr)
        extra = {} if partition is None else {"partition": partition}
        self.producer.produce(topic.name, key=key, value=topic.codec.encode(dict(record)), **extra)
        assert self.producer.flush(10) == 0

    def close(self) -> None:
        self.producer.flush(10)
        self.registry._client.close()

    def reader(self, attr: str) -> TopicReader:
        return self.reader_for(getattr(self.catalog, attr))

    def reader_for(self, topic: Any) -> TopicReader:
        return TopicReader(self.settings.kafka.bootstrap, topic)


def bot_until_paused(stack: Stack, client: Client, to: str, says: str, *, to_address: str, quiet_s: float = 3,
                     timeout: float = 40) -> tuple[int, list[dict[str, Any]]]:
    """A bot for a patient: it answers every message it receives with `says` at once, until the loop
    guard paused the conversation and nothing came for `quiet_s`. Returns (messages it received, the
    `conversation.paused` audit records of that patient)."""
    rid = client.rid(to)
    audit = client.reader("audit")

    def paused() -> list[dict[str, Any]]:
        return [r for r in audit.poll(0.05) if r["action"] == "conversation.paused" and r["resource"] == rid]

    stack.patient_says(to, says, to=to_address)
    answered, quiet_since = 0, time.monotonic()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sent = stack.sent(to)
        if len(sent) > answered:
            answered, quiet_since = len(sent), time.monotonic()
            stack.patient_says(to, says, to=to_address)
        elif paused() and time.monotonic() - quiet_since > quiet_s:
            break
        time.sleep(0.1)
    alerts = paused()
    audit.close()
    return answered, alerts


def number(suffix: str = "7") -> str:
    """A fresh patient number ending in `suffix` (scenario rules match on the ending): a Mexico City
    mobile in its canonical form, as the gateway and the webhooks' interpreter spell it."""
    digits = 8 - len(suffix)
    return f"+5255{uuid.uuid4().int % 10**digits:0{digits}d}{suffix}"
