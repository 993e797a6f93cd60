"""WhatsApp Cloud API connector: Meta directly (bearer token), or 360dialog by configuration.

Sends over a pooled connectors.http.HttpPool; bodies are built by connectors.meta.payloads.
"""
from __future__ import annotations

import json
from typing import Any

from connectors.base import ChannelInstance, OutboundMessage, SendResult
from connectors.errors import InDoubtError, RetryableError, make_error
from connectors.http import ConnectError, HttpPool, HttpResponse, TransportError
from connectors.meta.capabilities import DIALOG360, PROVIDER
from connectors.meta.errors import ERROR_MAP
from connectors.meta.payloads import build_payload
from schemas.settings import MetaSettings
from schemas.templates import TemplateCatalog, default_catalog

API_VERSION = "v21.0"  # default; MetaSettings.api_version overrides
DEFAULT_PER_SECOND = 80.0  # per phone number; up to 1,000 after an upgrade
READ_TIMEOUT_S = 10.0
D360_AUTH_HEADER = "D360-API-KEY"  # 360dialog: same Cloud API bodies, POST {base}/messages, no phone id


class MetaConnector:
    """WhatsApp Cloud API for one set of MetaSettings: Meta itself (bearer token) or 360dialog
    (auth_header D360-API-KEY, no phone_number_id in the path)."""

    def __init__(self, settings: MetaSettings, catalog: TemplateCatalog | None = None,
                 *, timeout_s: float = READ_TIMEOUT_S) -> None:
        if not settings.base_url.startswith(("http://", "https://")):
            raise ValueError("MetaSettings.base_url must be an http(s) URL")
        if not str(settings.access_token):
            raise ValueError("MetaSettings.access_token is empty")
        self._settings = settings
        self._catalog = catalog or default_catalog()
        self.dialog360 = settings.auth_header.lower() == D360_AUTH_HEADER.lower()
        self.provider = DIALOG360 if self.dialog360 else PROVIDER
        token = str(settings.access_token)
        headers = {D360_AUTH_HEADER: token} if self.dialog360 else {settings.auth_header: f"Bearer {token}"}
        self._http = HttpPool(timeout_s, base_url=settings.base_url, headers=headers)

    def messages_path(self, instance: ChannelInstance) -> str:
        if self.dialog360:
            return "/messages"
        return f"/{self._settings.api_version or API_VERSION}/{instance.sender}/messages"

    async def send(self, instance: ChannelInstance, msg: OutboundMessage) -> SendResult:
        payload = build_payload(msg, self._catalog)
        try:
            response = await self._http.request(
                "POST", self.messages_path(instance), content_type="application/json",
                body=json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode())
        except ConnectError:
            raise RetryableError(self.provider, detail="send: connect failed") from None
        except TransportError as exc:
            # sent but unanswered: Meta has no lookup, so the caller waits for the status webhook
            raise InDoubtError(self.provider, detail=f"send: {exc}") from None
        data = response.json_or_none()
        if response.status_code >= 400:
            raise self._error(response, data)
        messages = data.get("messages") if isinstance(data, dict) else None
        if not messages or not isinstance(messages[0], dict) or not messages[0].get("id"):
            raise InDoubtError(self.provider, None, response.status_code, detail="send: response without message id")
        spelled = str(messages[0].get("message_status") or "accepted")
        return SendResult(str(messages[0]["id"]), "queued", spelled)

    def _error(self, response: HttpResponse, data: Any) -> Exception:
        error = data.get("error") if isinstance(data, dict) else None
        code = error.get("code") if isinstance(error, dict) else None
        retry_after = response.retry_after_s()
        # Graph error messages can echo parameters: only the code and HTTP status travel on
        return make_error(self.provider, ERROR_MAP, code, response.status_code, retry_after=retry_after, detail="send")

    async def fetch_status(self, instance: ChannelInstance, provider_message_id: str) -> dict[str, Any]:
        """The Cloud API has no message status lookup: status None (statuses arrive by webhook only)."""
        return {"provider": self.provider, "channel": "WHATSAPP", "provider_message_id": provider_message_id,
                "status": None, "provider_status": None, "error_code": None, "error_class": None,
                "occurred_at": None, "price_micros": None, "price_currency": None}

    async def find_sent(self, instance: ChannelInstance, msg: OutboundMessage, since_ms: int) -> SendResult | None:
        """No lookup exists: None. The caller waits a grace period for a status webhook carrying the
        attempt id (biz_opaque_callback_data) before resending."""
        return None

    async def aclose(self) -> None:
        await self._http.aclose()

