"""Schemathesis fuzzes every operation of /openapi.json against the app on a real broker: no input gives 5xx."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.python.asgi import ASGIClient
from starlette.testclient import TestClient

from gateway.app import create_app
from gateway.openapi import build_document
from schemas.settings import GatewaySettings, Settings
from tests.gateway.helpers import SENDER, wait_ready

MAX_EXAMPLES = 50

# The document is built from the same function the app serves it with (a test below compares them);
# loading it at import keeps pytest's collection independent of the broker.
schema = schemathesis.openapi.from_dict(build_document(GatewaySettings()))


@pytest.fixture(scope="module")
def api(shared_settings: Settings) -> Iterator[ASGIClient]:
    app = create_app(shared_settings)
    # Starlette's TestClient owns the lifespan for the whole module; schemathesis' client is never
    # entered, so its plugin (which ends every lifespan it started after each test) leaves ours alone.
    with TestClient(app) as owner:
        wait_ready(owner)
        yield ASGIClient(app)


def test_the_fuzzed_document_is_the_served_one(api):
    assert api.get("/openapi.json").json() == build_document(GatewaySettings())


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_gives_a_server_error(case, api):
    response = case.call(session=api, headers=SENDER)
    case.validate_response(response, checks=[not_a_server_error])
