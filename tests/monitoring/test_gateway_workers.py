"""Two gateway workers behind one port: whichever answers the scrape, every counter is the sum of both
(PROMETHEUS_MULTIPROC_DIR, set by the stack), so a counter never goes backwards between scrapes."""
from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from stack.pipeline import Pipeline, Ports

HEALTHZ = re.compile(r'^carelay_gateway_requests_total\{[^}]*route="/healthz"[^}]*status="200"[^}]*\} (\S+)$', re.M)
REQUESTS = 40


@pytest.fixture(scope="module")
def gateway(kafka, registry, tmp_path_factory) -> Iterator[Pipeline]:
    tag = uuid.uuid4().hex[:6]
    env = {"CARELAY_KAFKA_BOOTSTRAP": kafka.bootstrap, "CARELAY_SCHEMA_REGISTRY_URL": registry.url,
           "CARELAY_TOPIC_PREFIX": f"mon{tag}."}
    tmp: Path = tmp_path_factory.mktemp("workers")
    with Pipeline(env, tmp, ports=Ports.free(), workers=0, gateway_workers=2, analytics=False,
                  ai_agent=False) as pipe:
        yield pipe


def _healthz_count(text: str) -> float:
    found = HEALTHZ.search(text)
    return float(found.group(1)) if found else 0.0


def test_counters_never_go_backwards_with_two_workers(gateway: Pipeline) -> None:
    seen: list[float] = []
    pids: set[str] = set()
    for _ in range(REQUESTS):
        # a new connection each time, so the kernel spreads them over both workers
        with httpx.Client(base_url=gateway.gateway_url, timeout=10) as client:
            assert client.get("/healthz").status_code == 200
        with httpx.Client(base_url=gateway.gateway_url, timeout=10) as client:
            seen.append(_healthz_count(client.get("/metrics").text))
    pids.update(p.name for p in gateway.metrics_dir.glob("counter_*.db"))
    assert seen == sorted(seen), f"a counter went backwards: {seen}"
    assert len(pids) == 2, f"expected both workers to have counted, files: {sorted(pids)}"
    assert seen[-1] == REQUESTS
