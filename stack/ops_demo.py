"""What the operations page shows in the demo and in `make screenshots`: circuit transitions of the demo
clinic's channel instances and a few dead letters, published as the stream workers and the analytics
sink publish them; and the walk through the page that leaves its PNGs."""
from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from confluent_kafka import Producer
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.wait import WebDriverWait

from schemas.registry import registry_from_url
from schemas.settings import Settings
from schemas.topics import BoundTopic, Catalog
from stack.browser import chromium, reload_until, sign_in
from stack.errors import StackError

MINUTE = 60_000
# (instance suffix, state, previous, failures, minutes ago)
TRANSITIONS = (("wa-twilio", "open", "closed", 5, 14), ("wa-twilio", "half_open", "open", 0, 13),
               ("wa-twilio", "closed", "half_open", 0, 13), ("sms-twilio", "open", "closed", 5, 2))
# (dead letter reason, detail, minutes ago): an analytics sink's and a stream worker's
DEAD = (("unknown_schema", "the registry cannot resolve its schema id", 30), ("unmappable", "CareEvent: KeyError", 6))


def circuit_event(organization: str, suffix: str, state: str, previous: str, failures: int,
                  at_ms: int) -> dict[str, Any]:
    return {"event_id": str(uuid.uuid4()), "channel_instance": f"{organization}-{suffix}",
            "provider": suffix.rsplit("-", 1)[1], "channel": "WHATSAPP" if suffix.startswith("wa") else "SMS",
            "state": state, "previous_state": previous, "failures": failures, "occurred_at": at_ms}


def dead_letter(source: BoundTopic, original: dict[str, Any], reason: str, detail: str, at_ms: int) -> dict[str, Any]:
    return {"source_topic": source.name, "source_partition": 0, "source_offset": at_ms % 100_000,
            "key": str(original["recipient_id"]).encode(), "value": source.codec.encode(original), "reason": reason,
            "detail": detail, "message_id": original.get("message_id"), "failed_at": at_ms}


def publish_operations(settings: Settings, organization: str, original: dict[str, Any]) -> None:
    """Circuit transitions of the organization's demo instances, and dead letters whose original record is
    `original` (a staff notice of the organization, as `staff.notifications` holds it)."""
    k = settings.kafka
    registry = registry_from_url(k.schema_registry_url)
    try:
        catalog = Catalog(k.topic_prefix, registry)
        producer = Producer({"bootstrap.servers": k.bootstrap})
        now = int(time.time() * 1000)
        for suffix, state, previous, failures, ago in TRANSITIONS:
            rec = circuit_event(organization, suffix, state, previous, failures, now - ago * MINUTE)
            producer.produce(catalog.circuit.name, catalog.circuit.codec.encode(rec),
                             rec["channel_instance"].encode())
        for reason, detail, ago in DEAD:
            rec = dead_letter(catalog.staff_notifications, {**original, "event_id": f"{uuid.uuid4()}"}, reason,
                              detail, now - ago * MINUTE)
            producer.produce(catalog.dead_letter.name, catalog.dead_letter.codec.encode(rec), rec["key"])
        if producer.flush(30):
            raise StackError("Kafka did not take the demo circuit events and dead letters")
    finally:
        registry.close()


def visit_operations(base: str, out: Path, organization: str, username: str, password: str,
                     shoot: Callable[[WebDriver, Path, str], Path]) -> list[Path]:
    """Signs in as the organization's admin, saves (`shoot`) the operations page and its newest dead letter's."""
    driver = chromium()
    saved = []
    try:
        sign_in(driver, base, "/console/operations", organization, username, password)
        rows = (By.CSS_SELECTOR, "#dead-letters tbody tr")
        # the view reads them within a moment: reload
        reload_until(driver, lambda d: len(d.find_elements(*rows)) >= len(DEAD), 20,
                     "the demo dead letters did not reach the operations page", every_s=0.5)
        saved.append(shoot(driver, out, "operations"))
        driver.find_element(By.CSS_SELECTOR, "#dead-letters tbody tr a").click()
        WebDriverWait(driver, 10).until(lambda d: d.find_elements(By.ID, "letter-summary"))
        saved.append(shoot(driver, out, "deadletter"))
    finally:
        driver.quit()
    return saved
