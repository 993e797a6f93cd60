"""The inbox in pages on the real broker: the newest 50 open notices first, older ones a link away,
the counts per reason over every open notice whatever the page."""
from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from confluent_kafka import Producer
from starlette.testclient import TestClient

from gateway.app import create_app
from gateway.console.inbox import PAGE_SIZE
from schemas.settings import Settings
from tests.gateway.console.support import console_of, notice_record, sign_in, wait_console, wait_for, write_accounts
from tests.gateway.helpers import wait_ready

ORG, HELD = "other-clinic", PAGE_SIZE + 7
NOTICE = re.compile(r'<li class="console-notice" id="(notice-[0-9a-f]+)"')


@pytest.fixture(scope="module")
def gateway(shared_settings: Settings) -> Iterator[TestClient]:
    write_accounts(shared_settings)
    with TestClient(create_app(shared_settings)) as c:
        wait_ready(c)
        wait_console(c.app)
        yield c


def test_the_inbox_pages_its_notices(gateway, shared_settings):
    topic = gateway.app.state.services.topics.staff_notifications
    producer = Producer({"bootstrap.servers": shared_settings.kafka.bootstrap})
    now = int(time.time() * 1000)
    for i in range(HELD):
        record = {**notice_record(ORG), "occurred_at": now - i * 1000}
        producer.produce(topic.name, topic.codec.encode(record), record["recipient_id"])
    assert producer.flush(10) == 0
    con = console_of(gateway.app)
    wait_for(lambda: len(con.svc.staff.held(ORG)) >= HELD, "the notices in the view")

    olga = TestClient(gateway.app)
    assert sign_in(olga, ORG, "olga").status_code == 303
    first = olga.get("/console/inbox")
    assert len(NOTICE.findall(first.text)) == PAGE_SIZE
    assert 'id="inbox-older"' in first.text and 'id="inbox-newer"' not in first.text
    assert f"Notices 1 to {PAGE_SIZE} of {HELD}" in first.text
    assert 'id="count-total">' in first.text and f">{HELD}</td>" in first.text  # counted whatever the page

    second = olga.get("/console/inbox?page=2")
    assert len(NOTICE.findall(second.text)) == HELD - PAGE_SIZE
    assert 'id="inbox-newer"' in second.text and 'id="inbox-older"' not in second.text
    assert not set(NOTICE.findall(first.text)) & set(NOTICE.findall(second.text))
    assert "page=2" in second.text.split('sse-connect="', 1)[1].split('"', 1)[0]  # live updates know the page
