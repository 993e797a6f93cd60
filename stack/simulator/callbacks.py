"""Signed webhook delivery, as the real providers do it: Twilio form posts (X-Twilio-Signature),
Meta JSON posts (X-Hub-Signature-256). Runs as background tasks; logs counts, never numbers.

The posts share one aiohttp session: a bounded pool of keep-alive connections (requests beyond it
queue for a free connection), so a benchmark's several hundred messages/s, three callbacks each,
cost the simulator a fraction of a millisecond per callback. httpx's pool opened new connections
under that load and spent its time scanning its queue (the simulator melted above ~100 messages/s).
"""
from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp
from twilio.request_validator import RequestValidator
from yarl import URL

from connectors.meta.signature import sign

log = logging.getLogger("carelay.simulator.callbacks")

MAX_CONNECTIONS = 64  # concurrent callback posts; more wait for a free connection
# idle connections are dropped before uvicorn's own 5 s keep-alive timeout closes them under a post
KEEPALIVE_S = 4.0
FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class Delivery:
    provider: str
    kind: str  # status, inbound, call_status, gather
    provider_message_id: str
    status: str | None
    http_status: int | None  # None: the gateway could not be reached
    attempts: int


class Dispatcher:
    def __init__(self, auth_token: str, app_secret: bytes, *, meta_retries: int = 3,
                 retry_base_s: float = 0.2, timeout_s: float = 5.0) -> None:
        self._validator = RequestValidator(auth_token)
        self._app_secret = app_secret
        self._meta_retries = meta_retries
        self._retry_base_s = retry_base_s
        self._timeout_s = timeout_s
        self._client: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.deliveries: list[Delivery] = []

    @property
    def pending(self) -> int:
        return len(self._tasks)

    async def _post(self, url: str, body: bytes, headers: Mapping[str, str]) -> int | None:
        """The gateway's HTTP status, or None when it could not be reached (or timed out)."""
        if self._client is None:
            # Twilio gives a webhook 15 s in total and connects within 5 s (providers.md)
            self._client = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=MAX_CONNECTIONS, keepalive_timeout=KEEPALIVE_S),
                timeout=aiohttp.ClientTimeout(total=self._timeout_s, connect=5.0))
        try:
            # encoded=True: the URL goes out byte for byte as signed (yarl would requote %3A to ":")
            async with self._client.post(URL(url, encoded=True), data=body, headers=headers) as response:
                await response.read()  # the whole answer, so the connection goes back to the pool
                return response.status
        except (aiohttp.ClientError, TimeoutError):
            return None

    def spawn(self, coro: Awaitable[None]) -> None:
        async def run() -> None:
            try:
                await coro
            except Exception:  # a background delivery must never take the simulator down
                log.exception("callback task failed")

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def post_twilio(self, url: str, form: Mapping[str, str], *, kind: str, sid: str,
                          status: str | None) -> int | None:
        """Form post signed over the full URL plus the sorted parameters (Twilio's scheme); the
        gateway's HTTP status, None when unreachable."""
        params = {k: v for k, v in form.items() if v is not None}
        headers = {"Content-Type": FORM, "X-Twilio-Signature": self._validator.compute_signature(url, params)}
        code = await self._post(url, urlencode(params).encode(), headers)
        self._record("twilio", kind, sid, status, code, 1)
        return code

    async def post_meta(self, url: str, body: Mapping[str, Any], *, provider: str, kind: str, sid: str,
                        status: str | None) -> int | None:
        """JSON post signed sha256=HMAC(app secret, raw body); retried on failure like Meta does."""
        raw = json.dumps(body, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", "X-Hub-Signature-256": sign(self._app_secret, raw)}
        code: int | None = None
        attempt = 0
        for attempt in range(1, self._meta_retries + 2):
            code = await self._post(url, raw, headers)
            if code is not None and code < 300:
                break
            if attempt <= self._meta_retries:
                await asyncio.sleep(min(self._retry_base_s * 2 ** (attempt - 1), 4.0))
        self._record(provider, kind, sid, status, code, attempt)
        return code

    async def post_json(self, url: str, body: Mapping[str, Any], headers: Mapping[str, str], *, provider: str,
                        kind: str, sid: str, status: str | None) -> int | None:
        """A JSON document already signed inside (SNS), posted once as text/plain like SNS does."""
        raw = json.dumps(body, separators=(",", ":")).encode()
        return await self.post_raw(url, raw, {"Content-Type": "text/plain; charset=UTF-8", **headers},
                                   provider=provider, kind=kind, sid=sid, status=status)

    async def post_raw(self, url: str, raw: bytes, headers: Mapping[str, str], *, provider: str, kind: str,
                       sid: str, status: str | None) -> int | None:
        """A body signed by the caller (Bird, SNS), posted once."""
        code = await self._post(url, raw, headers)
        self._record(provider, kind, sid, status, code, 1)
        return code

    def _record(self, provider: str, kind: str, sid: str, status: str | None, code: int | None,
                attempts: int) -> None:
        self.deliveries.append(Delivery(provider, kind, sid, status, code, attempts))
        log.debug("%s %s callback: http %s after %d attempt(s)", provider, kind, code, attempts)

    def reset(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        self.deliveries.clear()

    async def wait_idle(self, timeout_s: float) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while self._tasks and loop.time() < deadline:
            await asyncio.sleep(0.01)
        return not self._tasks

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.close()
            self._client = None


