"""Fixtures: the simulator and a gateway stub in background threads (session-scoped, started only by
the tests that ask for them), reset before each test; connectors pointed at the simulator."""
from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

import httpx
import pytest

from connectors.base import ChannelInstance
from connectors.factory import demo_instances
from connectors.meta.connector import MetaConnector
from connectors.twilio.connector import TwilioConnector
from schemas.phi import PhiCipher, Pseudonymizer
from schemas.settings import Settings
from stack.simulator.server import SimulatorServer
from stack.simulator.state import DEV_D360_API_KEY, SimulatorConfig
from tests.connectors.stubs import GatewayStub, StubServer

SETTINGS = Settings.from_env({})


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class Stack:
    sim_url: str
    gateway_url: str
    gateway: GatewayStub
    settings: Settings
    client: httpx.Client

    @contextmanager
    def sim(self) -> Iterator[httpx.Client]:
        yield self.client

    def scenario(self, **raw: object) -> None:
        with self.sim() as c:
            c.post("/_sim/scenarios", json=raw).raise_for_status()

    def idle(self) -> None:
        with self.sim() as c:
            c.get("/_sim/idle", params={"timeout": 5}).raise_for_status()

    def messages(self, **filters: str) -> list[dict[str, object]]:
        with self.sim() as c:
            found: list[dict[str, object]] = c.get("/_sim/messages", params=filters).json()["messages"]
            return found


@pytest.fixture(scope="session")
def _servers() -> Iterator[tuple[SimulatorServer, StubServer, httpx.Client]]:
    stub = GatewayStub(str(SETTINGS.twilio.auth_token), str(SETTINGS.meta.app_secret).encode())
    gateway = StubServer(stub).start()
    sim = SimulatorServer(SimulatorConfig.from_settings(SETTINGS, gateway_url=gateway.url,
                                                                webhook_retry_base_s=0.01)).start()
    with httpx.Client(base_url=sim.url, timeout=10) as client:
        yield sim, gateway, client
    sim.stop()
    gateway.stop()


@pytest.fixture
def stack(_servers: tuple[SimulatorServer, StubServer, httpx.Client]) -> Iterator[Stack]:
    sim, gateway, client = _servers
    s = Stack(sim.url, gateway.url, gateway.stub, SETTINGS, client)
    with s.sim() as c:
        c.delete("/_sim/messages").raise_for_status()
        c.delete("/_sim/scenarios").raise_for_status()
        c.post("/_sim/scenarios", json={"callbacks": {"delay_ms": 5}}).raise_for_status()
    gateway.stub.clear()
    yield s


def sim_settings(stack: Stack) -> Settings:
    return replace(SETTINGS, twilio=replace(SETTINGS.twilio, base_url=stack.sim_url),
                   meta=replace(SETTINGS.meta, base_url=stack.sim_url))


@pytest.fixture
async def twilio(stack: Stack) -> AsyncIterator[TwilioConnector]:
    connector = TwilioConnector(sim_settings(stack).twilio)
    yield connector
    await connector.aclose()


@pytest.fixture
async def meta(stack: Stack) -> AsyncIterator[MetaConnector]:
    connector = MetaConnector(sim_settings(stack).meta)
    yield connector
    await connector.aclose()


@pytest.fixture
async def d360(stack: Stack) -> AsyncIterator[MetaConnector]:
    from starlette.datastructures import Secret

    settings = replace(SETTINGS.meta, base_url=stack.sim_url, auth_header="D360-API-KEY",
                       access_token=Secret(DEV_D360_API_KEY))
    connector = MetaConnector(settings)
    yield connector
    await connector.aclose()


INSTANCES: dict[str, ChannelInstance] = {i.channel + ":" + i.provider: i for i in demo_instances(SETTINGS)}
D360_INSTANCE = ChannelInstance("demo-clinic-wa-d360", "demo-clinic", "WHATSAPP", "d360", "100000000000360")
CIPHER = PhiCipher(SETTINGS.phi_keys)
PSEUDONYMS = Pseudonymizer(SETTINGS.pseudonym_key_bytes)
