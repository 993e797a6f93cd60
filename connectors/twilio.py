"""Twilio connector (SMS, WhatsApp, Voice) over the official SDK's async client, and Twilio webhook parsing.

The same code runs against api.twilio.com and the local simulator: only TwilioSettings.base_url
differs (applied to `client.api.base_url`). Request building and webhook parsing are pure functions.
"""
from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from email.utils import parsedate_to_datetime
from typing import Any

from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http import AsyncHttpClient
from twilio.http.response import Response as TwilioResponse
from twilio.rest import Client
from twilio.twiml.voice_response import VoiceResponse

from connectors.base import (
    REF_KEYS,
    WEBHOOK_PATHS,
    ChannelInstance,
    OutboundMessage,
    SendResult,
    canonical_status,
    with_refs,
)
from connectors.errors import (
    ErrorTable,
    FallbackError,
    FinalError,
    InDoubtError,
    InstanceError,
    ProviderError,
    RateLimitedError,
    RetryableError,
    classify_with,
    make_error,
)
from connectors.http import FORM, ConnectError, ConnectTimeout, HttpPool, TransportError, basic_auth, form_encode
from schemas.errors import ContractError
from schemas.numbers import patient_number
from schemas.phi import Binding, PhiCipher, Pseudonymizer, is_e164, normalize_address
from schemas.settings import TwilioSettings
from schemas.templates import TemplateCatalog, default_catalog

PROVIDER = "twilio"
API_VERSION = "2010-04-01"
REQUEST_TIMEOUT_S = 10.0
# Default pacing per sender (messages/s); ChannelInstance.per_second overrides. Twilio queues any
# excess for hours, which is a failure for reminders, so the streams pace below these.
LIMITS: Mapping[str, float] = {"SMS": 1.0, "WHATSAPP": 20.0, "VOICE": 1.0}
MAX_SMS_CHARS = 1600  # Twilio concatenates up to 10 segments
MAX_TWIML_CHARS = 4000  # inline `Twiml` parameter limit
GATHER_TIMEOUT_S = 8
FIND_SENT_LIMIT = 50  # newest first; a patient gets a handful of messages a day (frequency caps)
CLOCK_SKEW_MS = 2000  # Twilio's date_created has second resolution
VOICE_LANGUAGES: Mapping[str, str] = {"es": "es-MX", "en": "en-US", "pt": "pt-BR"}
GATHER_DIGITS: Mapping[str, str] = {"1": "confirm", "2": "cancel"}
GATHER_ACK: Mapping[str, str] = {
    "es": "Gracias. Su respuesta fue registrada.",
    "en": "Thank you. Your answer was recorded.",
    "pt": "Obrigado. Sua resposta foi registrada.",
}

# Twilio error code -> what the caller must do (connectors.errors.classify_with).
ERROR_MAP: ErrorTable = {
    "21610": FinalError,         # recipient unsubscribed (STOP): no channel may message them
    "21211": FinalError,         # invalid 'To' number
    "21614": FinalError,         # 'To' is not a valid mobile number
    "21408": FallbackError,      # permission to send to this region not enabled
    "21612": FallbackError,      # cannot route to this number
    "30003": FallbackError,      # unreachable handset
    "30005": FallbackError,      # unknown destination
    "30006": FallbackError,      # landline or unreachable carrier
    "30007": FallbackError,      # carrier filtered
    "30008": RetryableError,     # unknown error
    "63016": FallbackError,      # WhatsApp free-form outside the 24 h window: template or other channel
    "63024": FallbackError,      # invalid WhatsApp recipient
    "63003": FallbackError,      # channel could not find the To address
    "20429": RateLimitedError,   # too many requests
    "63018": RateLimitedError,   # WhatsApp rate limit exceeded
    "20003": InstanceError,      # authentication failed
    "30034": InstanceError,      # unregistered A2P 10DLC sender
}

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


# ---------------------------------------------------------------- request building (pure)

@dataclass(frozen=True)
class TwilioRequest:
    kind: str  # "message" | "call"
    params: Mapping[str, Any]  # keyword arguments of messages.create / calls.create


def address(channel: str, e164: str) -> str:
    return f"whatsapp:{e164}" if channel == "WHATSAPP" else e164


def callback(msg: OutboundMessage, path_key: str) -> str | None:
    if not msg.callback_url:
        return None
    return with_refs(msg.callback_url.rstrip("/") + WEBHOOK_PATHS[path_key],
                     msg.organization_id, msg.message_id, msg.attempt_id)


def message_body(msg: OutboundMessage, catalog: TemplateCatalog) -> str:
    """The free-form body: the message's text, else the catalog's SMS rendering of its template."""
    if msg.text is not None:
        return msg.text
    if msg.template is None:
        raise FinalError(PROVIDER, detail="message has neither text nor template")
    return catalog.render_sms(msg.template, msg.language, msg.params)


def voice_script(msg: OutboundMessage, catalog: TemplateCatalog) -> str:
    if msg.template is not None:
        return catalog.render_voice(msg.template, msg.language, msg.params)
    if msg.text is not None:
        return msg.text
    raise FinalError(PROVIDER, detail="message has neither text nor template")


def voice_twiml(script: str, language: str, gather_url: str | None) -> str:
    """<Say> the script; inside a one-digit <Gather> when the patient is asked to press 1 or 2."""
    response = VoiceResponse()
    lang = VOICE_LANGUAGES.get(language, VOICE_LANGUAGES["es"])
    if gather_url is not None:
        gather = response.gather(num_digits=1, action=gather_url, method="POST", timeout=GATHER_TIMEOUT_S)
        gather.say(script, language=lang)
    else:
        response.say(script, language=lang)
    return str(response)


def gather_reply_twiml(language: str) -> str:
    """What the gateway answers to a gather callback: a short thank-you, then the call ends."""
    response = VoiceResponse()
    response.say(GATHER_ACK.get(language, GATHER_ACK["es"]),
                 language=VOICE_LANGUAGES.get(language, VOICE_LANGUAGES["es"]))
    return str(response)


def content_sid(instance: ChannelInstance, template: str, language: str) -> str:
    sids = instance.config.get("content_sids") or {}
    sid = sids.get(f"{template}:{language}") if isinstance(sids, Mapping) else None
    if not sid:
        # a configuration gap for this sender, not the patient's fault: the next channel may work
        raise FallbackError(PROVIDER, detail=f"instance {instance.id} has no Content SID for {template}:{language}")
    return str(sid)


def build_request(instance: ChannelInstance, msg: OutboundMessage, catalog: TemplateCatalog) -> TwilioRequest:
    """The SDK call for one attempt (pure: no I/O)."""
    try:
        return _build_request(instance, msg, catalog)
    except ContractError as exc:
        # unknown template/language or bad parameters: every channel would refuse the same content
        raise FinalError(PROVIDER, detail=type(exc).__name__) from None


def _build_request(instance: ChannelInstance, msg: OutboundMessage, catalog: TemplateCatalog) -> TwilioRequest:
    if not is_e164(msg.to):
        raise FinalError(PROVIDER, detail="recipient is not an E.164 number")
    if msg.channel != instance.channel:
        raise FallbackError(PROVIDER, detail=f"instance {instance.id} does not serve {msg.channel}")
    if msg.channel == "VOICE":
        gather = callback(msg, "twilio_gather") if msg.asks == "confirm_cancel" else None
        twiml = voice_twiml(voice_script(msg, catalog), msg.language, gather)
        if len(twiml) > MAX_TWIML_CHARS:
            raise FallbackError(PROVIDER, detail="voice script too long for inline TwiML")
        params: dict[str, Any] = {"to": msg.to, "from_": instance.sender, "twiml": twiml}
        status_cb = callback(msg, "twilio_call_status")
        if status_cb:
            params["status_callback"] = status_cb
        return TwilioRequest("call", params)
    if msg.channel not in ("SMS", "WHATSAPP"):
        raise FallbackError(PROVIDER, detail=f"twilio does not serve {msg.channel}")
    params = {"to": address(msg.channel, msg.to), "from_": address(msg.channel, instance.sender)}
    if msg.channel == "WHATSAPP" and msg.use_template and msg.template is not None:
        template = catalog.validate(msg.template, msg.language, msg.params)
        variables = {str(i): v for i, v in enumerate(template.body_parameters(msg.params), start=1)}
        params["content_sid"] = content_sid(instance, msg.template, msg.language)
        if variables:
            params["content_variables"] = json.dumps(variables, ensure_ascii=False)
    else:
        body = message_body(msg, catalog)
        if len(body) > MAX_SMS_CHARS:
            raise FallbackError(PROVIDER, detail="body too long")
        params["body"] = body
    status_cb = callback(msg, "twilio_status")
    if status_cb:
        params["status_callback"] = status_cb
    return TwilioRequest("message", params)


def price_micros(price: str | None) -> int | None:
    """Twilio reports prices as negative decimal strings ("-0.00750"); micros are positive."""
    if price in (None, ""):
        return None
    try:
        return int(abs(Decimal(str(price))) * 1_000_000)
    except InvalidOperation:
        return None


def _epoch_ms(value: datetime | None) -> int | None:
    return int(value.timestamp() * 1000) if value is not None else None


# ---------------------------------------------------------------- the connector (thin I/O)

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
                return SendResult(str(call.sid), canonical_status("twilio_call", status) or "queued", status)
            message = await client.messages.create_async(**request.params)
        status = str(message.status or "queued")
        return SendResult(str(message.sid), canonical_status(PROVIDER, status) or "queued", status)

    async def fetch_status(self, instance: ChannelInstance, provider_message_id: str) -> dict[str, Any]:
        client = self._client
        async with _translated("fetch"):
            if provider_message_id.startswith("CA"):
                call = await client.calls(provider_message_id).fetch_async()
                spelled = str(call.status)
                return _status_fields(provider_message_id, "VOICE", canonical_status("twilio_call", spelled), spelled,
                                      None, _epoch_ms(call.date_updated), call.price, call.price_unit)
            message = await client.messages(provider_message_id).fetch_async()
        spelled = str(message.status)
        channel = "WHATSAPP" if str(message.to or "").startswith("whatsapp:") else "SMS"
        return _status_fields(provider_message_id, channel, canonical_status(PROVIDER, spelled), spelled,
                              message.error_code, _epoch_ms(message.date_updated), message.price, message.price_unit)

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
                found = [c for c in calls if (_epoch_ms(c.date_created) or 0) >= floor_ms]
                if not found:
                    return None
                call = min(found, key=lambda c: _epoch_ms(c.date_created) or 0)
                status = str(call.status)
                return SendResult(str(call.sid), canonical_status("twilio_call", status) or "queued", status)
            request = build_request(instance, msg, self._catalog)
            body = request.params.get("body")
            messages = await client.messages.list_async(
                to=str(request.params["to"]), from_=str(request.params["from_"]), limit=FIND_SENT_LIMIT)
        matches = [
            m for m in messages
            if str(m.direction or "").startswith("outbound")
            and (_epoch_ms(m.date_created) or 0) >= floor_ms
            and (body is None or m.body == body)
        ]
        if not matches:
            return None
        first = min(matches, key=lambda m: _epoch_ms(m.date_created) or 0)
        status = str(first.status)
        return SendResult(str(first.sid), canonical_status(PROVIDER, status) or "queued", status)

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


# ---------------------------------------------------------------- webhook parsing (pure)

def _now_ms() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)


def _recipient_id(pseudonymize: Callable[[str, str], str], org: str | None, raw_address: str | None) -> str | None:
    number = patient_number(raw_address)  # the canonical form the gateway keyed the envelope by
    if not org or number is None:
        return None
    return pseudonymize(org, number)


def parse_status_callback(form: Mapping[str, str], query: Mapping[str, str], pseudonymize: Pseudonymizer,
                          organization_id: str | None = None, received_at: int | None = None) -> dict[str, Any] | None:
    """A message status callback -> a ProviderStatus dict; None for statuses we do not track.

    `query` is the callback URL's query (our references); `organization_id` is a fallback for
    callbacks without references. Twilio callbacks carry no event time: occurred_at = received_at.
    """
    spelled = str(form.get("MessageStatus") or form.get("SmsStatus") or "").lower()
    status = canonical_status(PROVIDER, spelled)
    sid = form.get("MessageSid") or form.get("SmsSid")
    if status is None or not sid:
        return None
    refs = {k: query[k] for k in REF_KEYS if query.get(k)}
    org = refs.get("org") or organization_id
    to = form.get("To", "")
    channel = "WHATSAPP" if to.startswith("whatsapp:") or form.get("ChannelPrefix") == "whatsapp" else "SMS"
    code = form.get("ErrorCode") or None
    now = received_at if received_at is not None else _now_ms()
    return {
        "event_id": f"{PROVIDER}:{sid}:{spelled}",
        "provider": PROVIDER, "channel": channel, "provider_message_id": sid,
        "message_id": refs.get("message_id"), "attempt_id": refs.get("attempt_id"),
        "recipient_id": _recipient_id(pseudonymize, org, to),
        "status": status, "provider_status": spelled,
        "error_code": code, "error_class": classify_with(ERROR_MAP, code, None).kind if code else None,
        "occurred_at": now, "received_at": now,
        "billable": None, "price_micros": None, "price_currency": None, "pricing_category": None,
        "conversation_id": None,
    }


def parse_call_status(form: Mapping[str, str], query: Mapping[str, str], pseudonymize: Pseudonymizer,
                      organization_id: str | None = None, received_at: int | None = None) -> dict[str, Any] | None:
    """A voice call status callback -> a ProviderStatus dict (channel VOICE), or None."""
    spelled = str(form.get("CallStatus") or "").lower()
    status = canonical_status("twilio_call", spelled)
    sid = form.get("CallSid")
    if status is None or not sid:
        return None
    org = query.get("org") or organization_id
    patient = _patient_of_call(form)
    now = received_at if received_at is not None else _now_ms()
    code = form.get("ErrorCode") or None
    return {
        "event_id": f"{PROVIDER}:{sid}:{spelled}",
        "provider": PROVIDER, "channel": "VOICE", "provider_message_id": sid,
        "message_id": query.get("message_id"), "attempt_id": query.get("attempt_id"),
        "recipient_id": _recipient_id(pseudonymize, org, patient),
        "status": status, "provider_status": spelled,
        "error_code": code, "error_class": classify_with(ERROR_MAP, code, None).kind if code else None,
        "occurred_at": _rfc2822_ms(form.get("Timestamp")) or now, "received_at": now,
        "billable": None, "price_micros": None, "price_currency": None, "pricing_category": None,
        "conversation_id": None,
    }


def _patient_of_call(form: Mapping[str, str]) -> str:
    # outbound calls (ours): To is the patient; an inbound call: From is
    return form.get("To", "") if _outbound(form) else form.get("From", "")


def _our_number_of_call(form: Mapping[str, str]) -> str:
    return form.get("From", "") if _outbound(form) else form.get("To", "")


def _outbound(form: Mapping[str, str]) -> bool:
    return str(form.get("Direction", "outbound")).startswith("outbound")


def _rfc2822_ms(text: str | None) -> int | None:
    if not text:
        return None
    try:
        return int(parsedate_to_datetime(text).timestamp() * 1000)
    except (TypeError, ValueError):
        return None


def parse_inbound(form: Mapping[str, str], cipher: PhiCipher, pseudonymize: Pseudonymizer,
                  organization_id: str, received_at: int | None = None) -> dict[str, Any]:
    """A patient's SMS / WhatsApp message -> an InboundMessage dict (sender and text sealed)."""
    sid = form.get("MessageSid") or form.get("SmsMessageSid") or form.get("SmsSid") or ""
    number = patient_number(form.get("From"))
    sender = number or normalize_address(form.get("From", ""))
    to = form.get("To", "")
    channel = "WHATSAPP" if to.startswith("whatsapp:") or form.get("From", "").startswith("whatsapp:") else "SMS"
    payload = form.get("ButtonPayload") or None
    text: str | None = form.get("Body")
    if payload is not None:
        kind, text = "BUTTON", form.get("ButtonText") or text
    elif form.get("Latitude") and form.get("Longitude"):
        kind, text = "LOCATION", f"{form['Latitude']},{form['Longitude']}"
    elif int(form.get("NumMedia") or 0) > 0:
        kind = "MEDIA"
    else:
        kind = "TEXT"
    now = received_at if received_at is not None else _now_ms()
    bound = Binding(organization_id, f"{PROVIDER}:{sid}")  # an InboundMessage's event id
    return {
        "event_id": bound.record_id,
        "provider": PROVIDER, "channel": channel, "provider_message_id": sid,
        "organization_id": organization_id,
        # None for a sender that is not a known number: the interpreter dead-letters it as no_recipient
        "recipient_id": pseudonymize(organization_id, number) if number else None,
        "sender": cipher.seal("sender", sender, bound),
        "to_address": normalize_address(to),
        "kind": kind,
        "text": cipher.seal("text", text, bound) if text else None,
        "payload": payload,
        "context_provider_message_id": form.get("OriginalRepliedMessageSid") or None,
        "received_at": now,
    }


def parse_gather(form: Mapping[str, str], query: Mapping[str, str], cipher: PhiCipher, pseudonymize: Pseudonymizer,
                 organization_id: str | None = None, received_at: int | None = None) -> dict[str, Any] | None:
    """The keypress answering a voice question -> an InboundMessage (kind DIGITS). Digits 1/2 become
    the same payloads as WhatsApp buttons ("confirm:<message_id>", "cancel:<message_id>")."""
    sid = form.get("CallSid")
    org = query.get("org") or organization_id
    digits = (form.get("Digits") or "").strip()
    if not sid or not org or not digits:
        return None
    number = patient_number(_patient_of_call(form))
    patient = number or normalize_address(_patient_of_call(form))
    answer = GATHER_DIGITS.get(digits)
    message_id = query.get("message_id")
    now = received_at if received_at is not None else _now_ms()
    bound = Binding(org, f"{PROVIDER}:{sid}:gather")  # an InboundMessage's event id
    return {
        "event_id": bound.record_id,
        "provider": PROVIDER, "channel": "VOICE", "provider_message_id": sid,
        "organization_id": org,
        "recipient_id": pseudonymize(org, number) if number else None,
        "sender": cipher.seal("sender", patient, bound),
        "to_address": normalize_address(_our_number_of_call(form)),
        "kind": "DIGITS",
        "text": cipher.seal("text", digits, bound),
        "payload": f"{answer}:{message_id}" if answer and message_id else None,
        "context_provider_message_id": sid,
        "received_at": now,
    }
