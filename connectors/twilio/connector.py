"""Twilio connector (SMS, WhatsApp, voice) over the official SDK's async client.

The same code runs against api.twilio.com and the local simulator: only TwilioSettings.base_url
differs (applied to `client.api.base_url`). Requests are built by connectors.twilio.requests.
"""
from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.rest import Client

from connectors.base import ChannelInstance, OutboundMessage, SendResult
from connectors.errors import InDoubtError, ProviderError, RetryableError, classify_with, make_error
from connectors.http import ConnectError, ConnectTimeout, TransportError
from connectors.twilio.capabilities import PROVIDER
from connectors.twilio.errors import ERROR_MAP
from connectors.twilio.requests import build_request, epoch_ms, price_micros
from connectors.twilio.statuses import call_status, message_status
from connectors.twilio.transport import REQUEST_TIMEOUT_S, PooledTwilioClient
from schemas.settings import TwilioSettings
from schemas.templates import TemplateCatalog, default_catalog

API_VERSION = "2010-04-01"
# Default pacing per sender (messages/s); ChannelInstance.per_second overrides. Twilio queues any
# excess for hours, which is a failure for reminders, so the streams pace below these.
LIMITS: Mapping[str, float] = {"SMS": 1.0, "WHATSAPP": 20.0, "VOICE": 1.0}
FIND_SENT_LIMIT = 50  # newest first; a patient gets a handful of messages a day (frequency caps)
CLOCK_SKEW_MS = 2000  # Twilio's date_created has second resolution


class TwilioConnector:
    """One Twilio account (TwilioSettings); instances name its senders."""

    provider = PROVIDER

    def __init__(self, settings: TwilioSettings, catalog: TemplateCatalog | None = None,
                 *, timeout_s: float = REQUEST_TIMEOUT_S) -> None:
        if not settings.account_sid.startswith("AC") or len(settings.account_sid) != 34:
            raise ValueError("TwilioSettings.account_sid must be an AC... SID of 34 characters")
        if not str(settings.auth_token):
            raise ValueError("TwilioSettings.auth_token is empty")
        if timeout_s <= 0:
            raise ValueError("timeout_s must be positive")
        self._settings = settings
        self._catalog = catalog or default_catalog()
        self._http = PooledTwilioClient(timeout_s)
        self._client = Client(settings.account_sid, str(settings.auth_token), http_client=self._http)
        # configuration comes from Settings only: the SDK would read TWILIO_EDGE / TWILIO_REGION from the
        # environment (an empty `environment` mapping falls back to os.environ) and rewrite the host
        self._client.edge = None
        self._client.region = None
        if settings.base_url:
            # the one difference between api.twilio.com and the simulator
            self._client.api.base_url = settings.base_url.rstrip("/")

    async def send(self, instance: ChannelInstance, msg: OutboundMessage) -> SendResult:
        request = build_request(instance, msg, self._catalog)
        client = self._client
        async with _translated("send"):
            if request.kind == "call":
                call = await client.calls.create_async(**request.params)
                status = str(call.status or "queued")
                return SendResult(str(call.sid), call_status(status) or "queued", status)
            message = await client.messages.create_async(**request.params)
        status = str(message.status or "queued")
        return SendResult(str(message.sid), message_status(status) or "queued", status)

    async def fetch_status(self, instance: ChannelInstance, provider_message_id: str) -> dict[str, Any]:
        client = self._client
        async with _translated("fetch"):
            if provider_message_id.startswith("CA"):
                call = await client.calls(provider_message_id).fetch_async()
                spelled = str(call.status)
                return _status_fields(provider_message_id, "VOICE", call_status(spelled), spelled,
                                      None, epoch_ms(call.date_updated), call.price, call.price_unit)
            message = await client.messages(provider_message_id).fetch_async()
        spelled = str(message.status)
        channel = "WHATSAPP" if str(message.to or "").startswith("whatsapp:") else "SMS"
        return _status_fields(provider_message_id, channel, message_status(spelled), spelled,
                              message.error_code, epoch_ms(message.date_updated), message.price, message.price_unit)

    async def find_sent(self, instance: ChannelInstance, msg: OutboundMessage, since_ms: int) -> SendResult | None:
        """Our outbound message (or call) to this patient from this sender created since `since_ms`.

        Twilio's Message resource does not return the StatusCallback URL, so the attempt id cannot be
        matched at the provider: we match sender, recipient, creation time and, for free-form bodies,
        the exact body. The streams hold one in-flight attempt per patient, so a match is this attempt.
        """
        client = self._client
        floor_ms = since_ms - CLOCK_SKEW_MS
        async with _translated("find_sent"):
            if msg.channel == "VOICE":
                calls = await client.calls.list_async(to=msg.to, from_=instance.sender, limit=FIND_SENT_LIMIT)
                found = [c for c in calls if (epoch_ms(c.date_created) or 0) >= floor_ms]
                if not found:
                    return None
                call = min(found, key=lambda c: epoch_ms(c.date_created) or 0)
                status = str(call.status)
                return SendResult(str(call.sid), call_status(status) or "queued", status)
            request = build_request(instance, msg, self._catalog)
            body = request.params.get("body")
            service = request.params.get("messaging_service_sid")
            if service is None:
                messages = await client.messages.list_async(
                    to=str(request.params["to"]), from_=str(request.params["from_"]), limit=FIND_SENT_LIMIT)
            else:  # the pool's number is Twilio's choice: match the service instead
                messages = await client.messages.list_async(to=str(request.params["to"]), limit=FIND_SENT_LIMIT)
        matches = [
            m for m in messages
            if str(m.direction or "").startswith("outbound")
            and (service is None or m.messaging_service_sid == service)
            and (epoch_ms(m.date_created) or 0) >= floor_ms
            and (body is None or m.body == body)
        ]
        if not matches:
            return None
        first = min(matches, key=lambda m: epoch_ms(m.date_created) or 0)
        status = str(first.status)
        return SendResult(str(first.sid), message_status(status) or "queued", status)

    async def aclose(self) -> None:
        await self._http.close()


class _translated:
    """Turns SDK and transport failures into ProviderError subclasses, without the SDK's message text
    (it can quote the patient's number): the original is not chained for the same reason."""

    def __init__(self, operation: str) -> None:
        self._operation = operation

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> bool:
        if exc is None or isinstance(exc, ProviderError):
            return False
        op = self._operation
        if isinstance(exc, TwilioRestException | TwilioServiceException):
            raise make_error(PROVIDER, ERROR_MAP, exc.code, exc.status, detail=op) from None
        if isinstance(exc, ConnectError | ConnectTimeout):
            raise RetryableError(PROVIDER, detail=f"{op}: connect failed") from None
        if isinstance(exc, asyncio.TimeoutError | TransportError | OSError | TwilioException):
            if op == "send":
                # the request may have reached Twilio: the caller must look it up before resending
                raise InDoubtError(PROVIDER, detail=f"{op}: {type(exc).__name__}") from None
            raise RetryableError(PROVIDER, detail=f"{op}: {type(exc).__name__}") from None
        return False


def _status_fields(sid: str, channel: str, status: str | None, spelled: str, error_code: int | None,
                   occurred_at: int | None, price: str | None, unit: str | None) -> dict[str, Any]:
    code = str(error_code) if error_code else None
    return {
        "provider": PROVIDER, "channel": channel, "provider_message_id": sid, "status": status,
        "provider_status": spelled, "error_code": code,
        "error_class": classify_with(ERROR_MAP, code, None).kind if code else None,
        "occurred_at": occurred_at, "price_micros": price_micros(price),
        "price_currency": unit.upper() if unit and price else None,
    }
