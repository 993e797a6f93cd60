"""Channels API message bodies, pure: text (SMS, WhatsApp inside the window) or a WhatsApp template.

`POST /workspaces/{workspaceId}/channels/{channelId}/messages` with
`{"receiver": {"contacts": [{"identifierKey": "phonenumber", "identifierValue": <E.164>}]},
"body": {"type": "text", "text": {"text": ...}}, "reference": ...}`; a WhatsApp template is
`"template": {"projectId", "version", "locale", "parameters": [{"type": "string", "key", "value"}]}`
instead of a body, its project and version from the channel instance's `config.templates`
(`{"<template>:<language>": {"projectId": ..., "version": ...}}`).
"""
from __future__ import annotations

from typing import Any

from connectors.base import ChannelInstance, OutboundMessage
from connectors.bird.capabilities import PROVIDER
from connectors.errors import FallbackError, FinalError
from schemas.errors import ContractError
from schemas.phi import is_e164
from schemas.templates import TemplateCatalog

MAX_TEXT_CHARS = {"SMS": 1600, "WHATSAPP": 4096}
MAX_REFERENCE_CHARS = 256
LOCALES = {"es": "es", "en": "en", "pt": "pt_BR"}


def build_payload(instance: ChannelInstance, msg: OutboundMessage, catalog: TemplateCatalog) -> dict[str, Any]:
    """The JSON body for one attempt."""
    try:
        return _build_payload(instance, msg, catalog)
    except ContractError as exc:
        raise FinalError(PROVIDER, detail=type(exc).__name__) from None


def _build_payload(instance: ChannelInstance, msg: OutboundMessage, catalog: TemplateCatalog) -> dict[str, Any]:
    if not is_e164(msg.to):
        raise FinalError(PROVIDER, detail="recipient is not an E.164 number")
    if msg.channel not in MAX_TEXT_CHARS:
        raise FallbackError(PROVIDER, detail=f"bird does not serve {msg.channel}")
    body: dict[str, Any] = {"receiver": {"contacts": [{"identifierKey": "phonenumber", "identifierValue": msg.to}]}}
    if msg.channel == "WHATSAPP" and msg.use_template:
        if msg.template is None:
            raise FallbackError(PROVIDER, detail="outside the window only templates may be sent")
        template = catalog.validate(msg.template, msg.language, msg.params)
        project = (instance.config.get("templates") or {}).get(f"{msg.template}:{msg.language}")
        if not isinstance(project, dict) or not project.get("projectId"):
            raise FallbackError(PROVIDER, detail="template not set up on this sender")
        body["template"] = {
            "projectId": str(project["projectId"]), "version": str(project.get("version") or "latest"),
            "locale": LOCALES.get(msg.language, msg.language),
            "parameters": [{"type": "string", "key": p, "value": msg.params[p]} for p in template.params],
        }
    else:
        text = msg.text if msg.text is not None else (
            catalog.render_sms(msg.template, msg.language, msg.params) if msg.template else None)
        if not text:
            raise FinalError(PROVIDER, detail="message has neither text nor template")
        if len(text) > MAX_TEXT_CHARS[msg.channel]:
            raise FallbackError(PROVIDER, detail="text too long")
        body["body"] = {"type": "text", "text": {"text": text}}
    refs = msg.refs()
    if len(refs) <= MAX_REFERENCE_CHARS:
        body["reference"] = refs
    return body
