"""Signed webhook delivery, as the real providers do it: Twilio form posts (X-Twilio-Signature),
Meta JSON posts (X-Hub-Signature-256). Runs as background tasks; logs counts, never numbers."""
from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from twilio.request_validator import RequestValidator

from connectors.meta import sign

log = logging.getLogger("carelay.simulator.callbacks")


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
        self._client: httpx.AsyncClient | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.deliveries: list[Delivery] = []

    @property
    def pending(self) -> int:
        return len(self._tasks)

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            # Twilio gives a webhook 15 s in total and connects within 5 s (providers.md)
            self._client = httpx.AsyncClient(timeout=httpx.Timeout(self._timeout_s, connect=5.0))
        return self._client

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
                          status: str | None) -> httpx.Response | None:
        """Form post signed over the full URL plus the sorted parameters (Twilio's scheme)."""
        params = {k: v for k, v in form.items() if v is not None}
        signature = self._validator.compute_signature(url, params)
        try:
            response = await self._http().post(url, data=params, headers={"X-Twilio-Signature": signature})
        except httpx.HTTPError:
            self._record("twilio", kind, sid, status, None, 1)
            return None
        self._record("twilio", kind, sid, status, response.status_code, 1)
        return response

    async def post_meta(self, url: str, body: Mapping[str, Any], *, provider: str, kind: str, sid: str,
                        status: str | None) -> int | None:
        """JSON post signed sha256=HMAC(app secret, raw body); retried on failure like Meta does."""
        raw = json.dumps(body, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", "X-Hub-Signature-256": sign(self._app_secret, raw)}
        code: int | None = None
        attempt = 0
        for attempt in range(1, self._meta_retries + 2):
            try:
                response = await self._http().post(url, content=raw, headers=headers)
                code = response.status_code
            except httpx.HTTPError:
                code = None
            if code is not None and code < 300:
                break
            if attempt <= self._meta_retries:
                await asyncio.sleep(min(self._retry_base_s * 2 ** (attempt - 1), 4.0))
        self._record(provider, kind, sid, status, code, attempt)
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
            await self._client.aclose()
            self._client = None


