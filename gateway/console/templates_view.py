"""The templates page's data, pure: the rows it lists, the preview of a template with sample parameters,
and the checks and construction of a new version from the admin's form."""
from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, replace

from schemas.template_records import next_version
from schemas.templates import LANGUAGES, Rendering, Template, TemplateCatalog

NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")  # Meta's rule for template names, and short
PARAM = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
CATEGORIES = ("UTILITY", "MARKETING", "AUTHENTICATION")
WHATSAPP_LANGUAGE = {"es": "es", "en": "en_US", "pt": "pt_BR"}  # Meta's codes, as the seed file spells them
MAX_PARAMS = 10
MAX_TEXT = 1024
TEXTS = ("body", "sms", "voice")


@dataclass(frozen=True)
class Form:
    name: str
    category: str
    params: tuple[str, ...]
    language: str
    body: str
    sms: str
    voice: str

    @classmethod
    def of(cls, data: Mapping[str, str]) -> Form:
        params = tuple(p.strip() for p in data.get("params", "").split(",") if p.strip())
        return cls(data.get("name", ""), data.get("category", ""), params, data.get("language", ""),
                   data.get("body", ""), data.get("sms", ""), data.get("voice", ""))

    def values(self) -> dict[str, str]:
        return {"name": self.name, "category": self.category, "params": ", ".join(self.params),
                "language": self.language, "body": self.body, "sms": self.sms, "voice": self.voice}


def placeholders(text: str) -> set[str] | None:
    """The {names} a text fills, or None when its braces are malformed."""
    try:
        return {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}
    except ValueError:
        return None


def errors(form: Form, catalog: TemplateCatalog, organization_id: str, held: Template | None) -> list[str]:
    """The form's wrong fields, in the page's order. `held`: the template edited (None: a new one)."""
    found = []
    if held is None:
        taken = form.name in catalog.names()
        if not NAME.match(form.name) or taken:
            found.append("name")
    elif held.organization_id != organization_id:
        found.append("name")
    if form.category not in CATEGORIES:
        found.append("category")
    params = form.params if held is None else held.params
    if (not all(PARAM.match(p) for p in params) or len(set(params)) != len(params)
            or len(params) > MAX_PARAMS):
        found.append("params")
    if form.language not in LANGUAGES:
        found.append("language")
    for name in TEXTS:
        text = getattr(form, name)
        used = placeholders(text)
        if not text.strip() or len(text) > MAX_TEXT or used is None or not used <= set(params) or "" in used:
            found.append(name)
    return found


def build(form: Form, held: Template | None, organization_id: str, now_ms: int, by: str) -> Template:
    """The next version: the form's language (a new one, or its texts changed) over the held ones. The
    language's WhatsApp form waits for a review (DRAFT until submitted) when its body is new or changed;
    a change of the SMS or voice text alone keeps Meta's review."""
    old = held.languages.get(form.language) if held is not None else None
    rendering = Rendering(form.name if held is None else held.name, WHATSAPP_LANGUAGE[form.language],
                          old.buttons if old else (), form.sms, form.voice, body=form.body, whatsapp_status="DRAFT")
    if old is not None and old.body == form.body:
        rendering = replace(rendering, whatsapp_status=old.whatsapp_status, whatsapp_reason=old.whatsapp_reason,
                            whatsapp_template_id=old.whatsapp_template_id)
    elif old is not None:
        rendering = replace(rendering, whatsapp_template_id=old.whatsapp_template_id)
    if held is None:
        template = Template(form.name, form.category, form.params, None, {form.language: rendering},
                            organization_id=organization_id)
    else:
        template = replace(held, category=form.category, languages={**held.languages, form.language: rendering})
    return next_version(template, held, now_ms, by)


def needs_review(template: Template, language: str) -> bool:
    return template.languages[language].whatsapp_status == "DRAFT"


def fill(text: str, params: Mapping[str, str]) -> str:
    """The text with each parameter filled, `[name]` where no sample was given."""
    class Samples(dict[str, str]):
        def __missing__(self, key: str) -> str:
            return f"[{key}]"
    try:
        return text.format_map(Samples({k: v for k, v in params.items() if v}))
    except (ValueError, IndexError, AttributeError):
        return text


@dataclass(frozen=True)
class LanguageRow:
    language: str
    status: str  # DRAFT, PENDING, APPROVED, REJECTED
    reason: str | None
    whatsapp: str
    sms: str
    voice: str


@dataclass(frozen=True)
class TemplateRow:
    template: Template
    shared: bool  # a seed: every organization's, read-only here
    languages: tuple[LanguageRow, ...]


def language_rows(template: Template, params: Mapping[str, str]) -> tuple[LanguageRow, ...]:
    return tuple(
        LanguageRow(lang, r.whatsapp_status, r.whatsapp_reason, fill(r.body or r.sms, params), fill(r.sms, params),
                    fill(r.voice, params))
        for lang in LANGUAGES if (r := template.languages.get(lang)) is not None)


def rows(catalog: TemplateCatalog, organization_id: str) -> list[TemplateRow]:
    """Every template the organization may send (its own, then the shared seeds), by name."""
    found = [catalog.get(n) for n in catalog.names(organization_id)]
    found.sort(key=lambda t: (t.organization_id is None, t.name))
    return [TemplateRow(t, t.organization_id is None, language_rows(t, {})) for t in found]
