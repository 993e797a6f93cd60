"""Bird Channels API connector (SMS and WhatsApp channels), over a pooled connectors.http.HttpPool.

`Authorization: AccessKey <key>`; one workspace (BirdSettings.workspace_id); a channel instance's
`sender` is the Bird channel id. Bodies are built by connectors.bird.payloads.
"""
from __future__ import annotations

import json
from typing import Any

from connectors.base import ChannelInstance, OutboundMessage, SendResult
from connectors.bird.capabilities import PROVIDER
from connectors.bird.errors import ERROR_MAP
from connectors.bird.payloads import build_payload
from connectors.errors import InDoubtError, RetryableError, make_error
from connectors.http import ConnectError, HttpPool, HttpResponse, TransportError
from schemas.settings import BirdSettings
from schemas.templates import TemplateCatalog, default_catalog

READ_TIMEOUT_S = 10.0


class BirdConnector:
    """Bird's Channels API for one workspace."""

    provider = PROVIDER

    def __init__(self, settings: BirdSettings, catalog: TemplateCatalog | None = None,
                 *, timeout_s: float = READ_TIMEOUT_S) -> None:
        if not settings.base_url.startswith(("http://", "https://")):
            raise ValueError("BirdSettings.base_url must be an http(s) URL")
        if not str(settings.access_key):
            raise ValueError("BirdSettings.access_key is empty")
        self._settings = settings
        self._catalog = catalog or default_catalog()
        self._http = HttpPool(timeout_s, base_url=settings.base_url,
                              headers={"Authorization": f"AccessKey {settings.access_key}"})

    def messages_path(self, instance: ChannelInstance) -> str:
        return f"/workspaces/{self._settings.workspace_id}/channels/{instance.sender}/messages"

    async def send(self, instance: ChannelInstance, msg: OutboundMessage) -> SendResult:
        payload = build_payload(instance, msg, self._catalog)
        try:
            response = await self._http.request(
                "POST", self.messages_path(instance), content_type="application/json",
                body=json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode())
        except ConnectError:
            raise RetryableError(PROVIDER, detail="send: connect failed") from None
        except TransportError as exc:
            raise InDoubtError(PROVIDER, detail=f"send: {exc}") from None
        data = response.json_or_none()
        if response.status_code >= 400:
            raise self._error(response, data)
        if not isinstance(data, dict) or not data.get("id"):
            raise InDoubtError(PROVIDER, None, response.status_code, detail="send: response without message id")
        spelled = str(data.get("status") or "accepted")
        return SendResult(str(data["id"]), "queued", spelled)

    def _error(self, response: HttpResponse, data: Any) -> Exception:
        code = data.get("code") if isinstance(data, dict) else None
        retry_after = response.retry_after_s()
        # Bird's error messages can echo the receiver: only the code and HTTP status travel on
        return make_error(PROVIDER, ERROR_MAP, code, response.status_code, retry_after=retry_after, detail="send")

    async def fetch_status(self, instance: ChannelInstance, provider_message_id: str) -> dict[str, Any]:
        """Not polled: status None (statuses arrive by webhook, with our reference)."""
        return {"provider": PROVIDER, "channel": instance.channel, "provider_message_id": provider_message_id,
                "status": None, "provider_status": None, "error_code": None, "error_class": None,
                "occurred_at": None, "price_micros": None, "price_currency": None}

    async def find_sent(self, instance: ChannelInstance, msg: OutboundMessage, since_ms: int) -> SendResult | None:
        """Not looked up: None (the caller waits a grace period for a status webhook with our reference)."""
        return None

    async def aclose(self) -> None:
        await self._http.aclose()

