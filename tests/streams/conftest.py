"""Fixtures for the stream pipeline tests; pure decision tests (tests/streams/decide) use none."""
from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from schemas.settings import Settings

from .harness import Client, Proc, Stack, wait_until

# One profile for the shared worker: short deadlines, fast retries and recovery, so that time-driven
# behaviour (timeouts, backoff, half-open circuits, in-doubt grace) shows within seconds.
FAST = {
    "CARELAY_DELIVERY_DEADLINE_NORMAL_S": "8",
    "CARELAY_DELIVERY_DEADLINE_URGENT_S": "8",
    "CARELAY_BREAKER_RECOVERY_S": "3",
    "CARELAY_RETRY_MAX_TRIES": "3",
    "CARELAY_RETRY_BASE_MS": "200",
    "CARELAY_RETRY_CAP_MS": "1000",
    "CARELAY_IN_DOUBT_GRACE_S": "3",
    "CARELAY_STREAMS_BATCH_WITHIN_MS": "10",
    "CARELAY_RECONCILE_INTERVAL_S": "2",
    "CARELAY_RECONCILE_STUCK_S": "30",
    "CARELAY_STREAMS_SESSION_TIMEOUT_S": "6",  # a killed worker's partitions move on quickly
    "CARELAY_TWILIO_SMS_PER_SECOND": "60",  # a short code: a long code's 1/s would pace the tests
    "CARELAY_CARE_QUIET_HOURS": "00:00-00:00",  # every non-urgent send waits out quiet hours: off unless tested
}


@pytest.fixture(scope="session")
def stack(kafka, registry, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    import uuid

    tmp = tmp_path_factory.mktemp("streams")
    env = {
        "CARELAY_KAFKA_BOOTSTRAP": kafka.bootstrap,
        "CARELAY_SCHEMA_REGISTRY_URL": registry.url,
        "CARELAY_TOPIC_PREFIX": f"s{uuid.uuid4().hex[:8]}.",
        "CARELAY_DATA_DIR": str(tmp / "var"),
        "CARELAY_DEMO_API_KEYS": "true",
        **FAST,
    }
    s = Stack(env, tmp).start()
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="session")
def client(stack: Stack) -> Iterator[Client]:
    c = Client(Settings.from_env(stack.env()))
    yield c
    c.close()


@pytest.fixture(scope="module")
def worker(stack: Stack, client: Client) -> Iterator[Proc]:
    proc = stack.worker("worker")
    wait_ready(proc)
    yield proc
    proc.stop()


@pytest.fixture
def scenario(stack: Stack) -> Iterator[Callable[[dict], None]]:
    """Install a simulator scenario for one test; the plain one comes back afterwards."""
    yield stack.scenario
    stack.scenario({})


def wait_ready(proc: Proc, timeout: float = 90) -> None:
    wait_until(lambda: "[^Worker]: Ready" in proc.tail(200_000) or not proc.alive(), timeout,
               f"worker ready\n{proc.tail()}", 0.3)
    assert proc.alive(), proc.tail()
