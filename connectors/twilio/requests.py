"""Twilio request building, pure: the SDK call for one attempt, the TwiML of a call, Twilio's prices."""
from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from twilio.twiml.voice_response import VoiceResponse

from connectors.base import ChannelInstance, OutboundMessage, with_refs
from connectors.errors import FallbackError, FinalError
from connectors.twilio.capabilities import PROVIDER
from connectors.twilio.webhooks import PATHS
from schemas.errors import ContractError
from schemas.phi import is_e164
from schemas.templates import TemplateCatalog

MAX_SMS_CHARS = 1600  # Twilio concatenates up to 10 segments
# A Messaging Service (Twilio's sender pools, sticky sender) sends instead of one `from` number: an SMS or
# WhatsApp instance's `config.messaging_service_sid`; its `sender` stays one pool number, for inbound routing.
MESSAGING_SERVICE_SID = re.compile(r"MG[0-9a-f]{32}")
MAX_TWIML_CHARS = 4000  # inline `Twiml` parameter limit
GATHER_TIMEOUT_S = 8
VOICE_LANGUAGES: Mapping[str, str] = {"es": "es-MX", "en": "en-US", "pt": "pt-BR"}
GATHER_ACK: Mapping[str, str] = {
    "es": "Gracias. Su respuesta fue registrada.",
    "en": "Thank you. Your answer was recorded.",
    "pt": "Obrigado. Sua resposta foi registrada.",
}


@dataclass(frozen=True)
class TwilioRequest:
    kind: str  # "message" | "call"
    params: Mapping[str, Any]  # keyword arguments of messages.create / calls.create


def address(channel: str, e164: str) -> str:
    return f"whatsapp:{e164}" if channel == "WHATSAPP" else e164


def callback(msg: OutboundMessage, route: str) -> str | None:
    """The callback URL of a webhook route ("status", "call_status", "gather") with our references."""
    if not msg.callback_url:
        return None
    return with_refs(msg.callback_url.rstrip("/") + PATHS[route],
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


def messaging_service(instance: ChannelInstance) -> str | None:
    """The instance's Messaging Service SID, or None when it sends from its own number."""
    sid = instance.config.get("messaging_service_sid")
    if sid is None:
        return None
    if instance.channel not in ("SMS", "WHATSAPP") or not isinstance(sid, str) \
            or not MESSAGING_SERVICE_SID.fullmatch(sid):
        # a configuration mistake of this instance only: the next channel may still reach the patient
        raise FallbackError(PROVIDER, detail=f"instance {instance.id}: messaging_service_sid must be MG + 32 hex "
                                             "on an SMS or WhatsApp instance")
    return sid


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
        gather = callback(msg, "gather") if msg.asks == "confirm_cancel" else None
        twiml = voice_twiml(voice_script(msg, catalog), msg.language, gather)
        if len(twiml) > MAX_TWIML_CHARS:
            raise FallbackError(PROVIDER, detail="voice script too long for inline TwiML")
        params: dict[str, Any] = {"to": msg.to, "from_": instance.sender, "twiml": twiml}
        status_cb = callback(msg, "call_status")
        if status_cb:
            params["status_callback"] = status_cb
        return TwilioRequest("call", params)
    if msg.channel not in ("SMS", "WHATSAPP"):
        raise FallbackError(PROVIDER, detail=f"twilio does not serve {msg.channel}")
    service = messaging_service(instance)
    params = {"to": address(msg.channel, msg.to)}
    if service is not None:
        params["messaging_service_sid"] = service  # Twilio picks the pool's (sticky) sender
    else:
        params["from_"] = address(msg.channel, instance.sender)
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
    status_cb = callback(msg, "status")
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


def epoch_ms(value: datetime | None) -> int | None:
    return int(value.timestamp() * 1000) if value is not None else None
