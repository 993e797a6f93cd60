"""/healthz and /readyz: ready only when Kafka answers, the topics exist and every read view has loaded."""
from __future__ import annotations

import asyncio
import threading
from types import SimpleNamespace
from typing import Any

import orjson
import pytest
from starlette.requests import Request

from gateway.health import healthz, readyz

VIEWS = ("state", "accepted", "staff", "plans", "appointments", "template_feed")


def request(kafka: bool = True, topics: bool = True, unloaded: tuple[str, ...] = ()) -> Request:
    async def broker_reachable() -> bool:
        return kafka

    ready = threading.Event()
    if topics:
        ready.set()
    svc = SimpleNamespace(publisher=SimpleNamespace(broker_reachable=broker_reachable), topics_ready=ready,
                          **{v: SimpleNamespace(loaded=v not in unloaded) for v in VIEWS})
    app = SimpleNamespace(state=SimpleNamespace(services=svc))
    return Request({"type": "http", "method": "GET", "path": "/readyz", "headers": [], "app": app})


READY = [
    pytest.param({}, 200, "ready", id="everything-up"),
    pytest.param({"kafka": False}, 503, "not_ready", id="kafka-unreachable"),
    pytest.param({"topics": False}, 503, "not_ready", id="topics-not-set-up"),
    *(pytest.param({"unloaded": (v,)}, 503, "not_ready", id=f"{v}-view-loading") for v in VIEWS),
]


@pytest.mark.parametrize(("given", "code", "status"), READY)
def test_readyz(given: dict[str, Any], code: int, status: str) -> None:
    response = asyncio.run(readyz(request(**given)))
    body = orjson.loads(response.body)
    assert (response.status_code, body["status"]) == (code, status)
    assert (response.headers.get("retry-after") == "1") is (code == 503)
    assert body["kafka"] is given.get("kafka", True) and body["topics"] is given.get("topics", True)


def test_healthz_answers_without_looking_at_anything() -> None:
    response = asyncio.run(healthz(Request({"type": "http", "method": "GET", "path": "/healthz", "headers": []})))
    assert (response.status_code, orjson.loads(response.body)) == (200, {"status": "ok"})
