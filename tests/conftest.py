"""Session fixtures for the real local stack; tests that request none of them start nothing."""
from __future__ import annotations

import contextlib
import gc
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from schemas.settings import Settings
from stack.javaproc import free_port
from stack.kafka import LocalKafka
from stack.registry import LocalRegistry

STACK_FIXTURES = frozenset({"kafka", "registry", "settings_env", "settings", "kafka_factory"})


@pytest.fixture(autouse=True)
def _thawed_heap() -> Iterator[None]:
    """A gateway started in this process (TestClient) freezes the heap it runs in (process.heap), here
    the test runner's, which every test shares: frozen objects are never collected, so a reference
    cycle of one test would outlive it. Thawed after each test, the runner collects as it always did."""
    yield
    gc.unfreeze()


@dataclass(frozen=True)
class RunningKafka:
    """A broker someone else started (CARELAY_TEST_KAFKA_BOOTSTRAP); we neither start nor stop it."""

    bootstrap: str


@dataclass(frozen=True)
class RunningRegistry:
    """A registry someone else started (CARELAY_TEST_REGISTRY_URL, the ccompat URL)."""

    url: str


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # `pytest -m "not kafka"` then runs only the pure tests, whoever forgot the marker.
    for item in items:
        if STACK_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.kafka)


@pytest.fixture(scope="session")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalKafka | RunningKafka]:
    """One broker per session (`.bootstrap`); shared, so each test uses its own topic names."""
    external = os.environ.get("CARELAY_TEST_KAFKA_BOOTSTRAP", "").strip()
    if external:
        yield RunningKafka(external)
        return
    # every module-scoped stack keeps its topics for the session (each test's own are deleted after it)
    broker = LocalKafka(tmp_path_factory.mktemp("kafka"), port=free_port(), heap="1g")
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRegistry | RunningRegistry]:
    """One schema registry per session (`.url` is the Confluent-compatible endpoint)."""
    external = os.environ.get("CARELAY_TEST_REGISTRY_URL", "").strip()
    if external:
        yield RunningRegistry(external.rstrip("/"))
        return
    server = LocalRegistry(tmp_path_factory.mktemp("registry"), port=free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def kafka_factory(tmp_path: Path) -> Iterator[Callable[..., LocalKafka]]:
    """Private brokers for tests that stop, kill or restart one (never the shared `kafka`);
    keyword arguments go to LocalKafka, e.g. `overrides={"broker.session.timeout.ms": "2000"}`."""
    started: list[LocalKafka] = []

    def make(**options: Any) -> LocalKafka:
        broker = LocalKafka(tmp_path / f"kafka-{len(started)}", port=free_port(), **options)
        started.append(broker)
        return broker.start()

    yield make
    for broker in started:
        broker.stop()


def delete_topics(bootstrap: str, prefix: str) -> None:
    """Drop a finished test's topics: the session broker holds every test's partitions otherwise, and
    a whole suite's worth (some 17,000) outgrows its heap and a machine's open-file limit."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    try:
        names = [t for t in admin.list_topics(timeout=10).topics if t.startswith(prefix)]
    except KafkaException:
        return
    for future in (admin.delete_topics(names, operation_timeout=30).values() if names else ()):
        with contextlib.suppress(KafkaException):  # already gone, or the broker busy: no test depends on it
            future.result(timeout=30)


@pytest.fixture
def settings_env(
    kafka: LocalKafka | RunningKafka, registry: LocalRegistry | RunningRegistry, tmp_path: Path
) -> Iterator[dict[str, str]]:
    """CARELAY_* variables pointing at the session stack; a fresh topic prefix isolates each test,
    and its topics are deleted after it."""
    prefix = f"t{uuid.uuid4().hex[:8]}."
    yield {
        "CARELAY_KAFKA_BOOTSTRAP": kafka.bootstrap,
        "CARELAY_SCHEMA_REGISTRY_URL": registry.url,
        "CARELAY_TOPIC_PREFIX": prefix,
        "CARELAY_DATA_DIR": str(tmp_path / "var"),
        "CARELAY_CLICKHOUSE_PATH": str(tmp_path / "chdb"),
        "CARELAY_DEMO_API_KEYS": "true",
    }
    delete_topics(kafka.bootstrap, prefix)


@pytest.fixture
def settings(settings_env: dict[str, str]) -> Settings:
    return Settings.from_env(settings_env)
