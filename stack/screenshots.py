"""`make screenshots` / `python -m stack.screenshots`: a PNG of each staff console page, from headless
Chromium, into docs/screenshots/.

Starts what the pages need (Kafka and the schema registry of its own unless --kafka/--registry name
running ones, then the simulator, the analytics service, a stream worker and the gateway), writes the
demo console accounts, publishes a morning's staff notices for the demo clinic, signs in as its demo
staff account and visits each page (the operations and reports pages as its admin). Everything it
started is stopped at the end; nothing is left in var/.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
from confluent_kafka import Producer
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.wait import WebDriverWait

from gateway.console.context import dom_id
from schemas.numbers import canonical_number
from schemas.phi import PhiCipher, Pseudonymizer, binding_of
from schemas.registry import registry_from_url
from schemas.settings import Settings
from schemas.topics import Catalog
from stack.browser import WINDOW, chromium, reload_until
from stack.cli import DEMO_SENDER_KEY
from stack.demo import META_PHONE_NUMBER_ID
from stack.errors import StackError
from stack.javaproc import free_port
from stack.kafka import LocalKafka
from stack.ops_demo import publish_operations, visit_operations
from stack.pipeline import ROOT, Pipeline, Ports
from stack.registry import LocalRegistry
from stack.report_demo import visit_reports
from stack.template_demo import visit_templates

DEMO_ORG = "demo-clinic"
# what a clinic's morning inbox holds: (reason, channel, minutes ago); the unclear reply has the patient's words
MORNING = (("urgent_failed", "SMS", 95), ("unclear_reply", "WHATSAPP", 40), ("cancel_requested", "WHATSAPP", 25),
           ("reschedule_requested", "SMS", 3))
REACHED = ("Delivered", "Read")  # the message page's status, in the English the screenshots are taken in
WORDS = "Perdón, no entendí el mensaje. ¿Mi cita del martes con la doctora Ruiz sigue en pie?"
PATIENT = "+5215550007001"  # the patient the demo message goes to, who then writes back
PATIENT_WORDS = "Gracias por avisar. ¿Puedo llamar por la tarde?"


def staff_notice(organization: str, reason: str, *, channel: str = "WHATSAPP", at_ms: int | None = None,
                 recipient_id: str | None = None) -> dict[str, Any]:
    """A staff notice as the stream workers publish one on `staff.notifications` (no patient's words)."""
    return {"event_id": f"twilio:SM{uuid.uuid4().hex[:16]}:staff.attention_needed", "type": "staff.attention_needed",
            "organization_id": organization, "recipient_id": recipient_id or uuid.uuid4().hex,
            "appointment_id": f"appt-{uuid.uuid4().hex[:6]}", "message_id": None, "reason": reason,
            "channel": channel, "language": "es", "text": None, "correlation_id": None,
            "occurred_at": at_ms if at_ms is not None else int(time.time() * 1000), "details": {}}


def with_words(record: dict[str, Any], cipher: PhiCipher, words: str) -> dict[str, Any]:
    """The notice with the patient's words sealed as the workers seal them (bound to the notice)."""
    return {**record, "text": cipher.seal("text", words, binding_of("CareEvent", record))}


def publish(settings: Settings, records: Sequence[dict[str, Any]]) -> None:
    k = settings.kafka
    registry = registry_from_url(k.schema_registry_url)
    try:
        topic = Catalog(k.topic_prefix, registry).staff_notifications
        producer = Producer({"bootstrap.servers": k.bootstrap})
        for rec in records:
            producer.produce(topic.name, topic.codec.encode(rec), rec["recipient_id"].encode("utf-8"))
        if producer.flush(30):
            raise StackError("Kafka did not take the demo staff notices")
    finally:
        registry.close()


def shoot(driver: WebDriver, out: Path, name: str) -> Path:
    """The whole page, not only the window: the window grows to the page's height first."""
    WebDriverWait(driver, 10).until(lambda d: d.execute_script("return document.readyState") == "complete")
    driver.set_window_size(*WINDOW)  # the previous page may have grown it
    height = int(driver.execute_script("return document.documentElement.scrollHeight"))
    driver.set_window_size(WINDOW[0], max(height, 600))
    path = out / f"{name}.png"
    driver.save_screenshot(str(path))
    return path


def send_message(gateway_url: str) -> str:
    """An urgent notice to a patient through the gateway's API (urgent: no quiet hours, whatever the hour)."""
    body = {"to": PATIENT, "recipient_name": "Xochitl Quetzalli", "patient_ref": "MRN-77001",
            "channels": ["WHATSAPP", "SMS"], "priority": "urgent",
            "template": {"name": "urgent_notice", "language": "es",
                         "params": {"clinic": "Clinica Sur", "notice": "Resultado listo, llame hoy"}}}
    r = httpx.post(f"{gateway_url}/v1/messages", json=body, timeout=30,
                   headers={"Authorization": f"Bearer {DEMO_SENDER_KEY}", "Idempotency-Key": uuid.uuid4().hex})
    if r.status_code != 202:
        raise StackError(f"the gateway refused the demo message: {r.status_code} {r.text[:200]}")
    return str(r.json()["message_id"])


def patient_writes(simulator_url: str, phone: str = PATIENT, text: str = PATIENT_WORDS) -> None:
    """A patient's WhatsApp message, as Meta's signed webhook brings it (through the provider simulator)."""
    r = httpx.post(f"{simulator_url}/_sim/inbound", timeout=30,
                   json={"provider": "meta", "from": phone, "to": META_PHONE_NUMBER_ID, "text": text})
    if r.status_code != 200:
        raise StackError(f"the simulator did not deliver the patient's message: {r.status_code} {r.text[:200]}")


def conversation_path(settings: Settings, organization: str = DEMO_ORG, phone: str = PATIENT) -> str:
    """The conversation page of the patient with this number (its pseudonym, never the number, in the path)."""
    rid = Pseudonymizer(settings.pseudonym_key_bytes)(organization, canonical_number(phone))
    return f"/console/patients/{rid}/conversation"


def wait_delivered(driver: WebDriver, timeout_s: float = 60) -> None:
    """The message page, reloaded until it says the message reached the patient."""
    reload_until(driver, lambda d: d.find_element(By.ID, "message-status").text in REACHED, timeout_s,
                 f"the demo message did not reach delivered in {timeout_s:.0f} s")


def visit_pages(base: str, out: Path, organization: str, username: str, password: str, worded: str,
                message_id: str, conversation: str | None = None) -> list[Path]:
    """Signs in (once wrongly, for the error summary), waits for the morning's notices, opens the patient
    of the notice `worded` (an event id), the search page, the message's page once delivered, the
    conversation at the path `conversation` (when given), the appointments, and signs out."""
    driver = chromium()
    saved = []
    try:
        driver.get(f"{base}/console/signin")
        saved.append(shoot(driver, out, "signin"))
        typed = (("organization", organization), ("username", username), ("password", "not the password"))
        for element_id, value in typed:
            driver.find_element(By.ID, element_id).send_keys(value)
        driver.find_element(By.ID, "signin-button").click()
        saved.append(shoot(driver, out, "signin-error"))
        driver.find_element(By.ID, "password").send_keys(password)
        driver.find_element(By.ID, "signin-button").click()
        WebDriverWait(driver, 10).until(lambda d: "/console/inbox" in d.current_url)
        notices = (By.CSS_SELECTOR, "#notices > li")
        WebDriverWait(driver, 10).until(lambda d: len(d.find_elements(*notices)) >= len(MORNING))
        saved.append(shoot(driver, out, "inbox"))
        driver.find_element(By.ID, f"{dom_id(worded)}-patient").click()
        WebDriverWait(driver, 10).until(lambda d: d.find_elements(By.ID, f"patient-{dom_id(worded)}-words"))
        saved.append(shoot(driver, out, "patient"))
        driver.find_element(By.ID, "nav-find").click()
        WebDriverWait(driver, 10).until(lambda d: d.find_elements(By.ID, "find-form"))
        saved.append(shoot(driver, out, "find"))
        driver.get(f"{base}/console/messages/{message_id}")
        wait_delivered(driver)
        saved.append(shoot(driver, out, "message"))
        if conversation is not None:
            driver.get(f"{base}{conversation}")
            WebDriverWait(driver, 10).until(lambda d: d.find_elements(By.ID, "thread"))
            saved.append(shoot(driver, out, "conversation"))
        driver.find_element(By.ID, "nav-appointments").click()
        WebDriverWait(driver, 10).until(lambda d: "/console/appointments" in d.current_url)
        saved.append(shoot(driver, out, "appointments"))
        driver.find_element(By.ID, "signout").click()
        WebDriverWait(driver, 10).until(lambda d: d.find_elements(By.ID, "notice-signed-out"))
        saved.append(shoot(driver, out, "signed-out"))
    finally:
        driver.quit()
    return saved


def run(out: Path, kafka_bootstrap: str | None, registry_url: str | None) -> list[Path]:
    from gateway.console.users import DEMO_ADMIN, demo_accounts  # the console's demo accounts (`make run` prints them)

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="carelay-screenshots-") as tmp:
        data = Path(tmp)
        kafka = None if kafka_bootstrap else LocalKafka(data / "kafka", port=free_port())
        registry = None if registry_url else LocalRegistry(data / "registry", port=free_port())
        try:
            if kafka is not None:
                kafka_bootstrap = kafka.start().bootstrap
            if registry is not None:
                registry_url = registry.start().url
            env = {"CARELAY_KAFKA_BOOTSTRAP": str(kafka_bootstrap), "CARELAY_SCHEMA_REGISTRY_URL": str(registry_url),
                   "CARELAY_TOPIC_PREFIX": f"shots{uuid.uuid4().hex[:6]}.", "CARELAY_ANALYTICS_BATCH_INTERVAL_S": "1"}
            pipeline = Pipeline(env, data, ports=Ports.free(), workers=1, analytics=True, ai_agent=False)
            settings = Settings.from_env(pipeline.env)
            accounts = demo_accounts(settings)
            with pipeline:
                now = int(time.time() * 1000)
                morning = [staff_notice(DEMO_ORG, reason, channel=channel, at_ms=now - minutes * 60_000)
                           for reason, channel, minutes in MORNING]
                morning[1] = with_words(morning[1], PhiCipher(settings.phi_keys), WORDS)
                publish(settings, morning)
                publish_operations(settings, DEMO_ORG, morning[0])
                message_id = send_message(pipeline.gateway_url)
                patient_writes(pipeline.simulator_url)
                _, username, password = next(a for a in accounts if a[0] == DEMO_ORG)
                saved = visit_pages(pipeline.gateway_url, out, DEMO_ORG, username, password, morning[1]["event_id"],
                                    message_id, conversation_path(settings))
                _, admin, password = next(a for a in accounts if a[0] == DEMO_ORG and a[1] == DEMO_ADMIN)
                saved += visit_operations(pipeline.gateway_url, out, DEMO_ORG, admin, password, shoot)
                saved += visit_templates(pipeline.gateway_url, out, DEMO_ORG, admin, password, shoot)
                return saved + visit_reports(pipeline.gateway_url, out, DEMO_ORG, admin, password, shoot)
        finally:
            if registry is not None:
                registry.stop()
            if kafka is not None:
                kafka.stop()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stack.screenshots", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots", help="where the PNGs go")
    parser.add_argument("--kafka", metavar="BOOTSTRAP", help="use this running broker instead of starting one")
    parser.add_argument("--registry", metavar="URL", help="use this running registry (its ccompat URL)")
    args = parser.parse_args(argv)
    try:
        saved = run(args.out, args.kafka, args.registry)
    except StackError as exc:
        print(f"screenshots: {exc}", file=sys.stderr)
        return 1
    for path in saved:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
