"""The connectors' pooled HTTP client (aiohttp) and the transport failures it raises.

Why aiohttp and not httpx: per request, httpx + httpcore cost the stream worker about twice as much
CPU, and httpcore 1.0's pool scans every pooled connection several times per request
(encode/httpcore#1035), quadratic in the provider calls in flight. Connectors see only
`HttpResponse` and the `TransportError` family below, never aiohttp's own types, and map them to
their typed ProviderErrors.
"""
from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp
from multidict import CIMultiDictProxy

from connectors.base import tls_context

CONNECT_TIMEOUT_S = 3.0
POOL_LIMIT = 100
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


class TransportError(Exception):
    """The request failed below HTTP: it may or may not have reached the provider."""


class ConnectError(TransportError):
    """No connection could be made (refused, DNS, TLS handshake): the request never left."""


class TransportTimeout(TransportError):
    """No answer in time."""


class ConnectTimeout(TransportTimeout):
    """No connection in time (connect, or waiting for a free pooled connection): the request never
    left, but as with httpx it is a timeout, not a ConnectError; each connector decides."""


@dataclass(frozen=True)
class HttpResponse:
    status_code: int
    body: bytes
    headers: CIMultiDictProxy[str]
    charset: str | None = None

    @property
    def text(self) -> str:
        return self.body.decode(self.charset or "utf-8", errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON; ValueError when it is not JSON."""
        return json.loads(self.body)

    def json_or_none(self) -> Any:
        """The body parsed as JSON, or None when it is not JSON (an error page from a proxy)."""
        try:
            return self.json()
        except ValueError:
            return None

    def retry_after_s(self) -> float | None:
        """The Retry-After header in seconds (never negative), or None when absent or not a number."""
        value = self.headers.get("Retry-After")
        try:
            return max(0.0, float(value)) if value else None
        except ValueError:
            return None


def form_encode(fields: Mapping[str, Any] | None) -> str:
    """A form / query string as httpx spelled it: lists repeat the key, booleans are true/false,
    None is empty (the Twilio SDK hands over such mappings)."""
    if not fields:
        return ""
    pairs: list[tuple[str, str]] = []
    for key, value in fields.items():
        for item in value if isinstance(value, list | tuple) else (value,):
            pairs.append((key, _primitive(item)))
    return urlencode(pairs)


def _primitive(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    return "" if value is None else str(value)


def basic_auth(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


class HttpPool:
    """One keep-alive connection pool; the aiohttp session is created on first use, inside the
    running event loop (aiohttp binds it to that loop). No retries: a retried POST could send twice;
    the streams decide what to retry."""

    def __init__(self, timeout_s: float, *, base_url: str = "", headers: Mapping[str, str] | None = None) -> None:
        if timeout_s <= 0:
            raise ValueError("timeout_s must be positive")
        self._timeout_s = timeout_s
        self._base_url = base_url.rstrip("/")
        self._headers = dict(headers or {})
        self._session: aiohttp.ClientSession | None = None

    def _timeout(self, timeout_s: float) -> aiohttp.ClientTimeout:
        # httpx.Timeout(t, connect=min(t, 3)): t for the pool wait and for each read, not in total
        return aiohttp.ClientTimeout(total=None, connect=timeout_s, sock_connect=min(timeout_s, CONNECT_TIMEOUT_S),
                                     sock_read=timeout_s)

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=POOL_LIMIT, ssl=tls_context()),
                headers=self._headers,
                timeout=self._timeout(self._timeout_s),
                cookie_jar=aiohttp.DummyCookieJar(),  # token / basic-auth APIs: no cookie bookkeeping per request
            )
        return self._session

    async def request(self, method: str, url: str, *, params: Mapping[str, Any] | None = None,
                      body: bytes | str | None = None, content_type: str | None = None,
                      headers: Mapping[str, str] | None = None, timeout_s: float | None = None,
                      allow_redirects: bool = False) -> HttpResponse:
        """Send one request (`url` relative to base_url unless absolute) and read the whole body."""
        if self._base_url and not url.startswith(("http://", "https://")):
            url = self._base_url + url
        query = form_encode(params)
        if query:
            url = f"{url}{'&' if '?' in url else '?'}{query}"
        sent_headers = dict(headers or {})
        if content_type is not None:
            sent_headers["Content-Type"] = content_type
        extra: dict[str, Any] = {} if timeout_s is None else {"timeout": self._timeout(timeout_s)}
        try:
            async with self._open().request(
                method, url, data=body, headers=sent_headers, allow_redirects=allow_redirects, **extra,
            ) as response:
                return HttpResponse(response.status, await response.read(), response.headers, response.charset)
        except aiohttp.ConnectionTimeoutError as exc:
            raise ConnectTimeout(type(exc).__name__) from None
        except aiohttp.ClientConnectorError as exc:
            raise ConnectError(type(exc).__name__) from None
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise (TransportTimeout if isinstance(exc, TimeoutError) else TransportError)(type(exc).__name__) from None

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
