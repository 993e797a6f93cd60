"""Gateway fixtures: an app on the session's broker and registry, with its own topic prefix."""
from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from gateway.app import create_app
from gateway.services import Services
from schemas.settings import Settings
from tests.gateway.helpers import wait_ready


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        wait_ready(c)
        yield c


@pytest.fixture
def services(client: TestClient) -> Services:
    svc: Services = client.app.state.services  # type: ignore[attr-defined]
    return svc


@pytest.fixture(scope="module")
def shared_settings(kafka, registry, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """One topic prefix for a whole module, for tests that never look for the absence of a record."""
    return Settings.from_env({
        "CARELAY_KAFKA_BOOTSTRAP": kafka.bootstrap,
        "CARELAY_SCHEMA_REGISTRY_URL": registry.url,
        "CARELAY_TOPIC_PREFIX": f"g{uuid.uuid4().hex[:8]}.",
        "CARELAY_DATA_DIR": str(tmp_path_factory.mktemp("gateway-var")),
        "CARELAY_DEMO_API_KEYS": "true",
    })


@pytest.fixture(scope="module")
def shared_client(shared_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(shared_settings)) as c:
        wait_ready(c)
        yield c
