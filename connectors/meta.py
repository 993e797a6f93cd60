"""WhatsApp Cloud API connector (Meta directly, or 360dialog by configuration) and its webhook parsing.

Sends over a pooled connectors.http.HttpPool; parsing and signature checks are pure functions over the
webhook JSON, used by the gateway (verify, split) and the streams (parse into canonical events).
"""
from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from connectors.base import (
    ChannelInstance,
    OutboundMessage,
    SendResult,
    canonical_status,
    decode_refs,
)
from connectors.errors import (
    ErrorTable,
    FallbackError,
    FinalError,
    InDoubtError,
    InstanceError,
    RateLimitedError,
    RetryableError,
    classify_with,
    make_error,
)
from connectors.http import ConnectError, HttpPool, HttpResponse, TransportError
from schemas.errors import ContractError
from schemas.numbers import patient_number
from schemas.phi import Binding, PhiCipher, Pseudonymizer, is_e164, normalize_address
from schemas.settings import MetaSettings
from schemas.templates import TemplateCatalog, default_catalog

PROVIDER = "meta"
API_VERSION = "v21.0"  # default; MetaSettings.api_version overrides
MAX_REPLY_BUTTONS = 3
MAX_BUTTON_TITLE = 20
MAX_LIST_ROWS = 10
MAX_TEXT_CHARS = 4096
MAX_OPAQUE_CHARS = 512  # biz_opaque_callback_data
DEFAULT_PER_SECOND = 80.0  # per phone number; up to 1,000 after an upgrade
READ_TIMEOUT_S = 10.0
D360_AUTH_HEADER = "D360-API-KEY"  # 360dialog: same Cloud API bodies, POST {base}/messages, no phone id
# Reply-button titles for free-form questions inside the 24 h window (templates carry their own).
BUTTON_TITLES: Mapping[str, Mapping[str, str]] = {
    "es": {"confirm": "Confirmar", "cancel": "Cancelar"},
    "en": {"confirm": "Confirm", "cancel": "Cancel"},
    "pt": {"confirm": "Confirmar", "cancel": "Cancelar"},
}
ASKS_BUTTONS: Mapping[str, tuple[str, ...]] = {"confirm_cancel": ("confirm", "cancel")}

# Graph API error code -> what the caller must do (connectors.errors.classify_with).
ERROR_MAP: ErrorTable = {
    "131047": FallbackError,     # re-engagement required: outside the 24 h window, template needed
    "131026": FallbackError,     # message undeliverable (no WhatsApp, old app, ...)
    "131049": FallbackError,     # Meta chose not to deliver (ecosystem engagement)
    "131051": FinalError,        # unsupported message type
    "131021": FinalError,        # recipient cannot be the sender
    "131008": FallbackError,     # required parameter missing
    "131009": FallbackError,     # parameter value invalid
    "132000": FallbackError,     # template parameter count mismatch
    "132001": FallbackError,     # template does not exist in this language
    "130429": RateLimitedError,  # cloud API throughput exceeded
    "131056": RateLimitedError,  # pair rate limit: too many messages to this recipient
    "131048": RateLimitedError,  # spam rate limit hit
    "80007": RateLimitedError,   # WABA rate limit
    "4": RateLimitedError,       # application request limit
    "131000": RetryableError,    # something went wrong
    "1": RetryableError,         # unknown API error
    "2": RetryableError,         # temporary service unavailability
    "368": InstanceError,        # temporarily blocked for policy violations: fall back, open the circuit
    "190": InstanceError,        # access token expired / invalid
    "131005": InstanceError,     # access denied (permission)
    "131042": InstanceError,     # business eligibility payment issue
    "133010": InstanceError,     # phone number not registered on the Cloud API
}
SIGNATURE_HEADER = "X-Hub-Signature-256"


def verify_signature(app_secret: bytes, raw_body: bytes, header: str | None) -> bool:
    """X-Hub-Signature-256 = 'sha256=' + hex HMAC-SHA256(app_secret, raw body); constant-time compare."""
    if not header or not app_secret:
        return False
    scheme, _, received = header.strip().partition("=")
    if scheme.lower() != "sha256" or not received:
        return False
    expected = hmac.new(app_secret, raw_body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), received.strip().lower().encode())


def sign(app_secret: bytes, raw_body: bytes) -> str:
    """The header value Meta would send for `raw_body` (the simulator and tests sign with it)."""
    return "sha256=" + hmac.new(app_secret, raw_body, hashlib.sha256).hexdigest()


def split_webhook(body: Mapping[str, Any]) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """One (kind, item, metadata) per status, message or error in a webhook POST.

    kind: "status" | "message" | "error". metadata: {phone_number_id, display_phone_number,
    waba_id, field}. Contacts (profile names: PHI) are deliberately not copied; a message's `from`
    already identifies the patient. Unknown shapes yield nothing rather than raising.
    """
    out: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
    if not isinstance(body, Mapping):
        return out
    for entry in _dicts(body.get("entry")):
        for change in _dicts(entry.get("changes")):
            value = change.get("value")
            if not isinstance(value, Mapping):
                continue
            raw_meta = value.get("metadata")
            meta: Mapping[str, Any] = raw_meta if isinstance(raw_meta, Mapping) else {}
            metadata = {
                "phone_number_id": str(meta.get("phone_number_id", "")),
                "display_phone_number": str(meta.get("display_phone_number", "")),
                "waba_id": str(entry.get("id", "")),
                "field": str(change.get("field", "")),
            }
            for kind, key in (("status", "statuses"), ("message", "messages"), ("error", "errors")):
                for item in _dicts(value.get(key)):
                    out.append((kind, dict(item), dict(metadata)))
    return out


def _dicts(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


# ---------------------------------------------------------------- request building (pure)

def button_payload(button: str, message_id: str) -> str:
    """What a reply button sends back: ours, never PHI ("confirm:<message_id>")."""
    return f"{button}:{message_id}"


def build_payload(msg: OutboundMessage, catalog: TemplateCatalog) -> dict[str, Any]:
    """The Cloud API JSON body for one attempt: template, interactive reply buttons, or text."""
    try:
        return _build_payload(msg, catalog)
    except ContractError as exc:
        # unknown template/language or bad parameters: every channel would refuse the same content
        raise FinalError(PROVIDER, detail=type(exc).__name__) from None


def _build_payload(msg: OutboundMessage, catalog: TemplateCatalog) -> dict[str, Any]:
    if not is_e164(msg.to):
        raise FinalError(PROVIDER, detail="recipient is not an E.164 number")
    if msg.channel != "WHATSAPP":
        raise FallbackError(PROVIDER, detail=f"meta does not serve {msg.channel}")
    body: dict[str, Any] = {
        "messaging_product": "whatsapp", "recipient_type": "individual", "to": msg.to.lstrip("+"),
    }
    if msg.use_template:
        if msg.template is None:
            raise FallbackError(PROVIDER, detail="outside the window only templates may be sent")
        template = catalog.validate(msg.template, msg.language, msg.params)
        rendering = template.rendering(msg.language)
        components: list[dict[str, Any]] = []
        params = template.body_parameters(msg.params)
        if params:
            components.append({"type": "body", "parameters": [{"type": "text", "text": p} for p in params]})
        for index, button in enumerate(rendering.buttons):
            components.append({
                "type": "button", "sub_type": "quick_reply", "index": str(index),
                "parameters": [{"type": "payload", "payload": button_payload(button, msg.message_id)}],
            })
        body["type"] = "template"
        body["template"] = {"name": rendering.whatsapp_name, "language": {"code": rendering.whatsapp_language},
                            "components": components}
    else:
        text = msg.text if msg.text is not None else (
            catalog.render_sms(msg.template, msg.language, msg.params) if msg.template else None)
        if not text:
            raise FinalError(PROVIDER, detail="message has neither text nor template")
        if len(text) > MAX_TEXT_CHARS:
            raise FallbackError(PROVIDER, detail="text too long")
        buttons = ASKS_BUTTONS.get(msg.asks or "", ())
        if buttons:
            titles = BUTTON_TITLES.get(msg.language, BUTTON_TITLES["es"])
            body["type"] = "interactive"
            body["interactive"] = {
                "type": "button", "body": {"text": text[:1024]},
                "action": {"buttons": [
                    {"type": "reply", "reply": {"id": button_payload(b, msg.message_id),
                                                "title": titles[b][:MAX_BUTTON_TITLE]}}
                    for b in buttons[:MAX_REPLY_BUTTONS]
                ]},
            }
        else:
            body["type"] = "text"
            body["text"] = {"body": text, "preview_url": False}
    refs = msg.refs()
    if len(refs) <= MAX_OPAQUE_CHARS:
        body["biz_opaque_callback_data"] = refs
    return body


# ---------------------------------------------------------------- the connector (thin I/O)

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
        self.provider = "d360" if self.dialog360 else PROVIDER
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
        data = _json(response)
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
        retry_after = _retry_after(response.headers.get("Retry-After"))
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


def _json(response: HttpResponse) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


# ---------------------------------------------------------------- webhook parsing (pure)

def _sub(item: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = item.get(key)
    return value if isinstance(value, Mapping) else {}


def _now_ms() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)


def _ts_ms(value: Any) -> int | None:
    try:
        return int(value) * 1000 if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def parse_status(item: Mapping[str, Any], metadata: Mapping[str, Any], pseudonymize: Pseudonymizer,
                 organization_id: str | None = None, received_at: int | None = None,
                 provider: str = PROVIDER) -> dict[str, Any] | None:
    """One `statuses[]` item (from split_webhook) -> a ProviderStatus dict; None if unrecognised.

    Our references come back in biz_opaque_callback_data; `organization_id` (resolved by the caller
    from metadata.phone_number_id) is the fallback for the pseudonym when they are missing.
    """
    spelled = str(item.get("status") or "").lower()
    status = canonical_status(provider, spelled)
    wamid = item.get("id")
    if status is None or not wamid:
        return None
    refs = decode_refs(item.get("biz_opaque_callback_data"))
    org = refs.get("org") or organization_id
    recipient = patient_number(str(item.get("recipient_id") or ""))  # wa_id: 521... for a Mexican mobile
    errors = item.get("errors") if isinstance(item.get("errors"), list) else []
    first_error = errors[0] if errors and isinstance(errors[0], Mapping) else {}
    code = str(first_error["code"]) if first_error.get("code") is not None else None
    pricing = _sub(item, "pricing")
    conversation = _sub(item, "conversation")
    now = received_at if received_at is not None else _now_ms()
    billable = pricing.get("billable")
    return {
        "event_id": f"{provider}:{wamid}:{spelled}",
        "provider": provider, "channel": "WHATSAPP", "provider_message_id": str(wamid),
        "message_id": refs.get("message_id"), "attempt_id": refs.get("attempt_id"),
        "recipient_id": pseudonymize(org, recipient) if org and recipient else None,
        "status": status, "provider_status": spelled,
        "error_code": code, "error_class": classify_with(ERROR_MAP, code, None).kind if code else None,
        "occurred_at": _ts_ms(item.get("timestamp")) or now, "received_at": now,
        "billable": billable if isinstance(billable, bool) else None,
        "price_micros": None, "price_currency": None,  # the webhook carries the category, not the amount
        "pricing_category": str(pricing["category"]) if pricing.get("category") else None,
        "conversation_id": str(conversation["id"]) if conversation.get("id") else None,
    }


def _inbound_content(item: Mapping[str, Any]) -> tuple[str, str | None, str | None, str | None]:
    """(kind, text, payload, context id override) for one inbound message."""
    mtype = str(item.get("type") or "")
    part = _sub(item, mtype)
    if mtype == "text":
        return "TEXT", part.get("body"), None, None
    if mtype == "button":
        return "BUTTON", part.get("text"), part.get("payload"), None
    if mtype == "interactive":
        reply = _sub(part, "button_reply") or _sub(part, "list_reply")
        return "INTERACTIVE", reply.get("title"), reply.get("id"), None
    if mtype in ("image", "audio", "video", "document", "sticker", "voice"):
        return "MEDIA", part.get("caption"), None, None
    if mtype == "location":
        lat, lng = part.get("latitude"), part.get("longitude")
        return "LOCATION", f"{lat},{lng}" if lat is not None and lng is not None else None, None, None
    if mtype == "reaction":
        return "REACTION", part.get("emoji"), None, part.get("message_id")
    return "OTHER", None, None, None


def parse_message(item: Mapping[str, Any], metadata: Mapping[str, Any], cipher: PhiCipher,
                  pseudonymize: Pseudonymizer, organization_id: str, received_at: int | None = None,
                  provider: str = PROVIDER) -> dict[str, Any] | None:
    """One `messages[]` item (from split_webhook) -> an InboundMessage dict (sender and text sealed)."""
    wamid, sender_raw = item.get("id"), item.get("from")
    if not wamid or not sender_raw:
        return None
    number = patient_number(str(sender_raw))  # wa_id: 521... for a Mexican mobile, sent to as +52...
    sender = number or normalize_address(str(sender_raw))
    kind, text, payload, context_override = _inbound_content(item)
    context = _sub(item, "context")
    now = received_at if received_at is not None else _now_ms()
    bound = Binding(organization_id, f"{provider}:{wamid}")  # an InboundMessage's event id
    return {
        "event_id": bound.record_id,
        "provider": provider, "channel": "WHATSAPP", "provider_message_id": str(wamid),
        "organization_id": organization_id,
        "recipient_id": pseudonymize(organization_id, number) if number else None,
        "sender": cipher.seal("sender", sender, bound),
        "to_address": str(metadata.get("phone_number_id", "")),
        "kind": kind,
        "text": cipher.seal("text", str(text), bound) if text else None,
        "payload": str(payload) if payload else None,
        "context_provider_message_id": context_override or context.get("id") or None,
        # the patient's send time: it opens the 24 h window
        "received_at": _ts_ms(item.get("timestamp")) or now,
    }
