"""The templates topic on the real broker: a version written is served by a live catalog that reads it."""
from __future__ import annotations

import time
import uuid
from dataclasses import replace

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient

from schemas.registry import ConfluentRegistry
from schemas.template_feed import TemplateFeed
from schemas.template_records import template_key, to_record
from schemas.templates import TemplateCatalog
from schemas.topics import TOPICS, Catalog, ensure_topics
from tests.schemas.test_template_records import MINE

pytestmark = pytest.mark.kafka


def wait_for(check, timeout_s: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.05)


def test_versions_written_are_served_in_order(kafka, registry) -> None:  # type: ignore[no-untyped-def]
    prefix = f"t{uuid.uuid4().hex[:8]}."
    admin = AdminClient({"bootstrap.servers": kafka.bootstrap})
    ensure_topics(admin, prefix, 3, 1, topics=[TOPICS.templates])
    reg = ConfluentRegistry(registry.url)
    bound = Catalog(prefix, reg).templates
    producer = Producer({"bootstrap.servers": kafka.bootstrap})
    producer.produce(bound.name, bound.codec.encode(to_record(MINE)), template_key("clinic-42", "lembrete"))
    producer.flush(10)
    catalog = TemplateCatalog.from_file()
    feed = TemplateFeed(kafka.bootstrap, bound.name, bound.codec, catalog)
    feed.start()
    try:
        wait_for(lambda: feed.loaded)
        assert catalog.whatsapp_status("lembrete", "pt") == "PENDING"
        assert catalog.get("appointment_reminder").version == 0  # the seeds stay where no record names them
        approved = replace(MINE, version=2, languages={"pt": replace(MINE.languages["pt"], whatsapp_status="APPROVED")})
        producer.produce(bound.name, bound.codec.encode(to_record(approved)), template_key("clinic-42", "lembrete"))
        producer.flush(10)
        wait_for(lambda: catalog.whatsapp_status("lembrete", "pt") == "APPROVED")
        assert catalog.get("lembrete").version == 2
    finally:
        feed.close()
        reg.close()
