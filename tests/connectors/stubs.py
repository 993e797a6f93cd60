"""A stand-in for the gateway's webhook endpoints: verifies signatures as the gateway must, records
what arrived, and answers a gather with TwiML. Started in a thread beside the simulator."""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator

from connectors.meta.signature import verify_signature
from connectors.meta.webhooks import PATH as META_PATH
from connectors.twilio.requests import gather_reply_twiml
from connectors.twilio.webhooks import PATHS as TWILIO_PATHS
from stack.simulator.server import free_port


@dataclass
class Hit:
    path: str
    query: dict[str, str]
    form: dict[str, str] | None
    body: dict[str, Any] | None
    signature_ok: bool


@dataclass
class GatewayStub:
    auth_token: str
    app_secret: bytes
    hits: list[Hit] = field(default_factory=list)
    status_code: int = 200  # what to answer (tests make the gateway fail to see retries)

    def app(self) -> Starlette:
        validator = RequestValidator(self.auth_token)

        async def twilio(request: Request) -> Response:
            raw = (await request.body()).decode()
            form = dict(parse_qsl(raw, keep_blank_values=True))
            ok = validator.validate(str(request.url), form, request.headers.get("X-Twilio-Signature", ""))
            self.hits.append(Hit(request.url.path, dict(request.query_params), form, None, ok))
            if request.url.path == TWILIO_PATHS["gather"]:
                return Response(gather_reply_twiml("es"), media_type="application/xml")
            return Response(status_code=self.status_code)

        async def meta(request: Request) -> Response:
            raw = await request.body()
            ok = verify_signature(self.app_secret, raw, request.headers.get("X-Hub-Signature-256"))
            self.hits.append(Hit(request.url.path, dict(request.query_params), None, json.loads(raw), ok))
            return PlainTextResponse("", status_code=self.status_code)

        paths = [TWILIO_PATHS[k] for k in ("status", "inbound", "call_status", "gather")]
        return Starlette(routes=[*(Route(p, twilio, methods=["POST"]) for p in paths),
                                 Route(META_PATH, meta, methods=["POST"])])

    def of(self, path: str) -> list[Hit]:
        return [h for h in self.hits if h.path == path]

    def clear(self) -> None:
        self.hits.clear()
        self.status_code = 200


class StubServer:
    def __init__(self, stub: GatewayStub) -> None:
        self.stub = stub
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = uvicorn.Server(uvicorn.Config(stub.app(), host="127.0.0.1", port=self.port,
                                                     log_level="warning", access_log=False, lifespan="off"))
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def start(self) -> StubServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("gateway stub did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
