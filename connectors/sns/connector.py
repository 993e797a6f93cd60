"""Amazon SNS SMS connector: `Publish` to a phone number through boto3's SNS client.

boto3 is synchronous: each call runs in a worker thread. botocore's own retries are off (the streams
retry by error class); `endpoint_url` (SnsSettings.endpoint_url) points the client at the simulator.
"""
from __future__ import annotations

import asyncio
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ConnectionError, ConnectTimeoutError, ReadTimeoutError

from connectors.base import ChannelInstance, OutboundMessage, SendResult
from connectors.errors import FallbackError, FinalError, InDoubtError, RetryableError, make_error
from connectors.sns.capabilities import PROVIDER
from connectors.sns.errors import ERROR_MAP
from schemas.errors import ContractError
from schemas.phi import is_e164
from schemas.settings import SnsSettings
from schemas.templates import TemplateCatalog, default_catalog

READ_TIMEOUT_S = 10.0
CONNECT_TIMEOUT_S = 5.0
MAX_SMS_CHARS = 1600  # SNS refuses a longer SMS body
SMS_TYPE = "AWS.SNS.SMS.SMSType"
ORIGINATION_NUMBER = "AWS.MM.SMS.OriginationNumber"
SENDER_ID = "AWS.SNS.SMS.SenderID"


def publish_request(instance: ChannelInstance, msg: OutboundMessage, text: str, sms_type: str) -> dict[str, Any]:
    """The `Publish` parameters of one SMS: the patient's number, the text and its message attributes
    (SMS type; the instance's origination number, or `config.sender_id` where a sender id is allowed)."""
    attributes = {SMS_TYPE: {"DataType": "String", "StringValue": sms_type}}
    if instance.sender.startswith("+"):
        attributes[ORIGINATION_NUMBER] = {"DataType": "String", "StringValue": instance.sender}
    sender_id = instance.config.get("sender_id")
    if sender_id:
        attributes[SENDER_ID] = {"DataType": "String", "StringValue": str(sender_id)}
    return {"PhoneNumber": msg.to, "Message": text, "MessageAttributes": attributes}


def sms_text(msg: OutboundMessage, catalog: TemplateCatalog) -> str:
    """The SMS body: the message's own text, else its template's SMS form."""
    if msg.channel != "SMS":
        raise FallbackError(PROVIDER, detail=f"sns does not serve {msg.channel}")
    if not is_e164(msg.to):
        raise FinalError(PROVIDER, detail="recipient is not an E.164 number")
    try:
        text = msg.text if msg.text is not None else (
            catalog.render_sms(msg.template, msg.language, msg.params) if msg.template else None)
    except ContractError as exc:
        raise FinalError(PROVIDER, detail=type(exc).__name__) from None
    if not text:
        raise FinalError(PROVIDER, detail="message has neither text nor template")
    if len(text) > MAX_SMS_CHARS:
        raise FallbackError(PROVIDER, detail="text too long")
    return text


class SnsConnector:
    """SMS through one AWS account's SNS (SnsSettings)."""

    provider = PROVIDER

    def __init__(self, settings: SnsSettings, catalog: TemplateCatalog | None = None,
                 *, timeout_s: float = READ_TIMEOUT_S) -> None:
        if not str(settings.secret_access_key):
            raise ValueError("SnsSettings.secret_access_key is empty")
        self._settings = settings
        self._catalog = catalog or default_catalog()
        self._client = boto3.session.Session().client(
            "sns", region_name=settings.region, endpoint_url=settings.endpoint_url or None,
            aws_access_key_id=settings.access_key_id, aws_secret_access_key=str(settings.secret_access_key),
            config=Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=CONNECT_TIMEOUT_S,
                          read_timeout=timeout_s, max_pool_connections=16))

    async def send(self, instance: ChannelInstance, msg: OutboundMessage) -> SendResult:
        request = publish_request(instance, msg, sms_text(msg, self._catalog), self._settings.sms_type)
        try:
            response = await asyncio.to_thread(self._client.publish, **request)
        except ClientError as exc:
            raise self._error(exc) from None
        except (ConnectTimeoutError, ConnectionError) as exc:
            if isinstance(exc, ReadTimeoutError):  # a ConnectionError too: sent, unanswered
                raise InDoubtError(PROVIDER, detail="send: read timeout") from None
            raise RetryableError(PROVIDER, detail="send: connect failed") from None
        except BotoCoreError:
            raise InDoubtError(PROVIDER, detail="send: transport failed") from None
        message_id = response.get("MessageId") if isinstance(response, dict) else None
        if not message_id:
            raise InDoubtError(PROVIDER, detail="send: response without MessageId")
        return SendResult(str(message_id), "queued", "published")

    def _error(self, exc: ClientError) -> Exception:
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        # the error message may echo the phone number: only the code and HTTP status travel on
        return make_error(PROVIDER, ERROR_MAP, error.get("Code"), status, detail="send")

    async def fetch_status(self, instance: ChannelInstance, provider_message_id: str) -> dict[str, Any]:
        """SNS has no message status lookup: status None (delivery reports arrive by notification only)."""
        return {"provider": PROVIDER, "channel": "SMS", "provider_message_id": provider_message_id,
                "status": None, "provider_status": None, "error_code": None, "error_class": None,
                "occurred_at": None, "price_micros": None, "price_currency": None}

    async def find_sent(self, instance: ChannelInstance, msg: OutboundMessage, since_ms: int) -> SendResult | None:
        """No lookup exists: None (the caller waits for a delivery report)."""
        return None

    async def aclose(self) -> None:
        await asyncio.to_thread(self._client.close)
