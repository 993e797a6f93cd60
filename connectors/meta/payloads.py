"""Cloud API message bodies, pure: a template, interactive reply buttons, or text for one attempt."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.base import OutboundMessage
from connectors.errors import FallbackError, FinalError
from connectors.meta.capabilities import PROVIDER
from schemas.errors import ContractError
from schemas.phi import is_e164
from schemas.templates import TemplateCatalog

MAX_REPLY_BUTTONS = 3
MAX_BUTTON_TITLE = 20
MAX_LIST_ROWS = 10
MAX_TEXT_CHARS = 4096
MAX_OPAQUE_CHARS = 512  # biz_opaque_callback_data
# Reply-button titles for free-form questions inside the 24 h window (templates carry their own).
BUTTON_TITLES: Mapping[str, Mapping[str, str]] = {
    "es": {"confirm": "Confirmar", "cancel": "Cancelar"},
    "en": {"confirm": "Confirm", "cancel": "Cancel"},
    "pt": {"confirm": "Confirmar", "cancel": "Cancelar"},
}
ASKS_BUTTONS: Mapping[str, tuple[str, ...]] = {"confirm_cancel": ("confirm", "cancel")}


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
