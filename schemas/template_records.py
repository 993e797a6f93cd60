"""Templates as records of the compacted `templates` topic (TemplateVersion), and back.

Key `organization_id|name`. Every edit and every WhatsApp review result is written as a new version
(one more than the version it replaces), so the topic's history is the template's history until
compaction keeps the latest.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from schemas.templates import Rendering, Template

STATUSES = ("DRAFT", "PENDING", "APPROVED", "REJECTED")


def template_key(organization_id: str, name: str) -> bytes:
    return f"{organization_id}|{name}".encode()


def from_record(rec: Mapping[str, Any]) -> Template:
    languages = {
        lang["language"]: Rendering(
            whatsapp_name=lang["whatsapp_name"], whatsapp_language=lang["whatsapp_language"],
            buttons=tuple(lang.get("buttons") or ()), sms=lang["sms"], voice=lang["voice"], body=lang["body"],
            whatsapp_status=lang.get("whatsapp_status") or "PENDING", whatsapp_reason=lang.get("whatsapp_reason"),
            whatsapp_template_id=lang.get("whatsapp_template_id"),
        )
        for lang in rec["languages"]
    }
    return Template(rec["name"], rec["category"], tuple(rec["params"]), rec.get("asks"), languages,
                    organization_id=rec["organization_id"], version=int(rec["version"]),
                    updated_at_ms=int(rec["updated_at"]), updated_by=rec.get("updated_by") or "")


def to_record(template: Template) -> dict[str, Any]:
    assert template.organization_id is not None, "seed templates are not records"
    return {
        "organization_id": template.organization_id, "name": template.name, "version": template.version,
        "category": template.category, "params": list(template.params), "asks": template.asks,
        "languages": [
            {"language": lang, "whatsapp_name": r.whatsapp_name, "whatsapp_language": r.whatsapp_language,
             "buttons": list(r.buttons), "body": r.body, "sms": r.sms, "voice": r.voice,
             "whatsapp_status": r.whatsapp_status, "whatsapp_reason": r.whatsapp_reason,
             "whatsapp_template_id": r.whatsapp_template_id}
            for lang, r in sorted(template.languages.items())
        ],
        "updated_at": template.updated_at_ms, "updated_by": template.updated_by,
    }


def next_version(template: Template, held: Template | None, now_ms: int, by: str) -> Template:
    """`template` as the version after `held` (an edit: its WhatsApp forms wait for a new review)."""
    return replace(template, version=(held.version if held is not None else 0) + 1, updated_at_ms=now_ms,
                   updated_by=by)


def reviewed(held: Template, whatsapp_language: str, status: str, reason: str | None, template_id: str | None,
             now_ms: int, by: str) -> Template | None:
    """The version recording Meta's review of one language's WhatsApp form; None when it changes nothing
    (a repeated webhook) or names no language of the template."""
    found = [lang for lang, r in held.languages.items() if r.whatsapp_language == whatsapp_language]
    if not found or status not in STATUSES:
        return None
    lang = found[0]
    old = held.languages[lang]
    new = replace(old, whatsapp_status=status, whatsapp_reason=reason,
                  whatsapp_template_id=template_id or old.whatsapp_template_id)
    if new == old:
        return None
    return replace(held, languages={**held.languages, lang: new}, version=held.version + 1, updated_at_ms=now_ms,
                   updated_by=by)
