"""The Twilio SDK's async transport over the connectors' pooled HTTP client (connectors.http)."""
from __future__ import annotations

import logging

from twilio.http import AsyncHttpClient
from twilio.http.response import Response as TwilioResponse

from connectors.http import FORM, HttpPool, basic_auth, form_encode

REQUEST_TIMEOUT_S = 10.0
_SDK_LOGGER = logging.getLogger("carelay.connectors.twilio.sdk")


class PooledTwilioClient(AsyncHttpClient):
    """The SDK's async transport over one connectors.http.HttpPool (aiohttp).

    Why not the SDK's own AsyncTwilioHttpClient: with the installed aiohttp (3.14) it builds an
    aiohttp.BasicAuth per request, which now raises a DeprecationWarning (an error under our pytest
    settings), and it logs request query strings (patient numbers on list calls) at INFO. The SDK
    still builds every request and parses every response; this only moves the bytes.
    """

    def __init__(self, timeout_s: float = REQUEST_TIMEOUT_S) -> None:
        super().__init__(_SDK_LOGGER, True, timeout_s)
        self._http = HttpPool(timeout_s)
        self._auth: tuple[tuple[str, str], str] | None = None  # (user, password) -> its header, built once

    def _authorization(self, auth: tuple[str, str]) -> str:
        if self._auth is None or self._auth[0] != auth:
            self._auth = (auth, basic_auth(*auth))
        return self._auth[1]

    async def request(
        self, method: str, uri: str, params: dict[str, object] | None = None, data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None, auth: tuple[str, str] | None = None, timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> TwilioResponse:
        sent = dict(headers or {})
        if auth is not None:
            sent["Authorization"] = self._authorization(auth)
        body = form_encode(data) if data else None
        response = await self._http.request(
            method, uri, params=params, body=body, content_type=FORM if body is not None else None,
            headers=sent, timeout_s=timeout, allow_redirects=allow_redirects,
        )
        return TwilioResponse(response.status_code, response.text, response.headers)

    async def close(self) -> None:
        await self._http.aclose()
