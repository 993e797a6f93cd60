"""Meta's message template API: submitting a WhatsApp template for review, and reading the review.

`POST /{version}/{waba-id}/message_templates` with name, language, category and components (a BODY
with positional {{1}}..{{n}} variables and an example for each, QUICK_REPLY buttons) answers
`{"id", "status": "PENDING", "category"}`. A form Meta already holds (it has Meta's id) is edited
instead: `POST /{version}/{template-id}` with its new components answers `{"success": true}` and the
form is reviewed again. Meta's decision arrives later on the WhatsApp Business
Account webhook, field `message_template_status_update` (event APPROVED / REJECTED with a reason).
"""
from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from connectors.http import ConnectError, HttpPool, TransportError
from connectors.templates import SubmitRefused, Submitted
from schemas.settings import MetaSettings
from schemas.templates import Template

FIELD = "message_template_status_update"
EVENTS = {"APPROVED": "APPROVED", "REJECTED": "REJECTED", "PENDING": "PENDING"}  # others change nothing here
READ_TIMEOUT_S = 10.0
PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


def submission(template: Template, language: str) -> dict[str, Any]:
    """The request body for one language's WhatsApp form; parameters become {{1}}..{{n}} in
    declaration order, the same order the send payload fills them (connectors.meta.payloads)."""
    r = template.rendering(language)
    position = {p: i + 1 for i, p in enumerate(template.params)}
    text = PLACEHOLDER.sub(lambda m: f"{{{{{position[m.group(1)]}}}}}" if m.group(1) in position else m.group(0),
                           r.body or r.sms)
    body: dict[str, Any] = {"type": "BODY", "text": text}
    if template.params:
        body["example"] = {"body_text": [[f"<{p}>" for p in template.params]]}
    components: list[dict[str, Any]] = [body]
    if r.buttons:
        components.append({"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": b} for b in r.buttons]})
    return {"name": r.whatsapp_name, "language": r.whatsapp_language, "category": template.category,
            "components": components}


def review_of(value: Mapping[str, Any]) -> dict[str, Any] | None:
    """A `message_template_status_update` change's value -> {template_id, name, language, status,
    reason}, or None for an event this version does not record (PAUSED, DISABLED, ...)."""
    status = EVENTS.get(str(value.get("event", "")).upper())
    name, lang = value.get("message_template_name"), value.get("message_template_language")
    if status is None or not name or not lang:
        return None
    reason = value.get("reason")
    return {"template_id": str(value.get("message_template_id") or ""), "name": str(name),
            "language": str(lang).replace("-", "_"), "status": status,
            "reason": None if reason in (None, "", "NONE") else str(reason)}


def reviews_in(body: Any) -> list[tuple[dict[str, Any], str]]:
    """(review, WABA id) for each template status change of a verified webhook body."""
    found: list[tuple[dict[str, Any], str]] = []
    entries = body.get("entry") if isinstance(body, Mapping) else None
    for entry in entries if isinstance(entries, list) else ():
        if not isinstance(entry, Mapping):
            continue
        for change in entry.get("changes") or ():
            value = change.get("value") if isinstance(change, Mapping) else None
            if isinstance(change, Mapping) and change.get("field") == FIELD and isinstance(value, Mapping):
                review = review_of(value)
                if review is not None:
                    found.append((review, str(entry.get("id", ""))))
    return found


class MetaTemplates:
    """Submits templates to one WhatsApp Business Account (MetaSettings.waba_id)."""

    def __init__(self, settings: MetaSettings, *, timeout_s: float = READ_TIMEOUT_S) -> None:
        if not settings.base_url.startswith(("http://", "https://")):
            raise ValueError("MetaSettings.base_url must be an http(s) URL")
        self._path = f"/{settings.api_version}/{settings.waba_id}/message_templates"
        self._version = settings.api_version
        headers = {settings.auth_header: f"Bearer {settings.access_token}"}
        self._http = HttpPool(timeout_s, base_url=settings.base_url, headers=headers)

    async def submit(self, template: Template, language: str) -> Submitted:
        payload = submission(template, language)
        known = template.rendering(language).whatsapp_template_id
        if known:  # an edit of a form Meta holds: its components only, under its id
            path, payload = f"/{self._version}/{known}", {"components": payload["components"]}
        else:
            path = self._path
        try:
            response = await self._http.request(
                "POST", path, content_type="application/json",
                body=json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode())
        except (ConnectError, TransportError):
            raise SubmitRefused("provider_unreachable") from None
        try:
            data = response.json()
        except ValueError:
            data = None
        if known and response.status_code < 400 and isinstance(data, dict) and data.get("success") is True:
            return Submitted(known, "PENDING")
        if response.status_code >= 400 or not isinstance(data, dict) or not data.get("id"):
            error = data.get("error") if isinstance(data, dict) else None
            code = error.get("code") if isinstance(error, dict) else None
            raise SubmitRefused(f"provider_refused_{code}" if code else "provider_refused", response.status_code)
        return Submitted(str(data["id"]), EVENTS.get(str(data.get("status", "")).upper(), "PENDING"))

    async def aclose(self) -> None:
        await self._http.aclose()
