"""Input hygiene through the whole app: sizes, shapes, errors without PHI, metrics without PHI."""
from __future__ import annotations

import dataclasses
import gc
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from gateway.app import create_app
from schemas.settings import Settings
from tests.gateway.helpers import PHONE, SENDER, key, send_body, wait_ready

LIMIT = 4000


@pytest.fixture
def small(settings: Settings) -> Iterator[TestClient]:
    limited = dataclasses.replace(settings, gateway=dataclasses.replace(settings.gateway, max_body_bytes=LIMIT))
    with TestClient(create_app(limited)) as c:
        wait_ready(c)
        yield c


def test_body_too_large_by_content_length_and_while_streaming(small):
    big = b'{"to": "' + b"x" * LIMIT + b'"}'
    r = small.post("/v1/messages", content=big, headers={**SENDER, "Idempotency-Key": key()})
    assert r.status_code == 413 and r.json()["error"]["code"] == "body_too_large"

    def chunks():  # no Content-Length: refused while reading
        for _ in range(10):
            yield b"x" * 1000

    r = small.post("/v1/messages", content=chunks(), headers={**SENDER, "Idempotency-Key": key()})
    assert r.status_code == 413
    assert small.post("/webhooks/meta", content=big).status_code == 413


@pytest.mark.parametrize("raw", [b"", b"null", b"[]", b"\xff\xfe", b'{"to": 1', b"1e999999", b'"str"'])
def test_malformed_bodies_are_4xx(shared_client, raw):
    r = shared_client.post("/v1/messages", content=raw, headers={**SENDER, "Idempotency-Key": key(),
                                                          "Content-Type": "application/json"})
    assert 400 <= r.status_code < 500, r.text
    assert set(r.json()["error"]) == {"code", "message", "field"}


def test_errors_and_metrics_never_carry_phi(shared_client):
    client = shared_client
    secret_name = "Zacarias Quintanilla"
    r = client.post("/v1/messages", json=send_body(recipient_name=secret_name * 20, idempotency_key=key()),
                    headers=SENDER)
    assert r.status_code == 422 and "Zacarias" not in r.text
    r = client.post("/v1/messages", json=send_body(to=PHONE + "99999", idempotency_key=key()), headers=SENDER)
    assert r.status_code == 422 and PHONE not in r.text
    client.get(f"/v1/messages/{PHONE}", headers=SENDER)
    client.get(f"/{PHONE}")
    metrics = client.get("/metrics").text
    assert PHONE not in metrics and PHONE[1:] not in metrics and "Zacarias" not in metrics
    assert 'route="/v1/messages/{message_id}"' in metrics and 'route="unmatched"' in metrics


def test_openapi_document(shared_client):
    client = shared_client
    doc = client.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    assert {"/v1/messages", "/v1/messages:batch", "/v1/messages/{message_id}", "/webhooks/meta"} <= set(doc["paths"])


def test_the_gateway_freezes_its_start_up_heap_before_serving(settings):
    assert gc.get_freeze_count() == 0  # thawed after every test (tests/conftest.py)
    with TestClient(create_app(settings)) as c:
        assert gc.get_freeze_count() > 0  # process.heap.settle ran in the lifespan
        wait_ready(c)
