"""The message template catalog, read by the gateway, streams and connectors.

Each template declares its parameters and, per language, the WhatsApp template (name, language code,
reply buttons, body, Meta's review status), the SMS text and the voice script. Parameters fill
WhatsApp body variables in declaration order. The runtime source is the compacted `templates` topic
(schemas.template_records, schemas.template_feed); schemas/templates/catalog.json is the seed: its
templates are shared by every organization, approved, and served whenever no record names them.
"""
from __future__ import annotations

import json
import math
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from schemas.errors import TemplateParameterError, UnknownTemplateError

CATALOG_PATH = Path(__file__).parent / "templates" / "catalog.json"
# GSM 03.38 basic set and extension table (an extension character costs two septets). One character
# outside them turns a whole SMS into UCS-2: 67 characters per segment instead of 153.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXT = frozenset("^{}\\[~]|€")
LANGUAGES = ("es", "en", "pt")
MAX_PARAM_CHARS = 200


@dataclass(frozen=True)
class Rendering:
    whatsapp_name: str
    whatsapp_language: str
    buttons: tuple[str, ...]
    sms: str
    voice: str
    body: str = ""  # the WhatsApp body as submitted to Meta ({parameter} placeholders)
    whatsapp_status: str = "APPROVED"  # DRAFT, PENDING, APPROVED, REJECTED (the seeds are approved)
    whatsapp_reason: str | None = None
    whatsapp_template_id: str | None = None


@dataclass(frozen=True)
class Template:
    name: str
    category: str
    params: tuple[str, ...]
    asks: str | None  # "confirm_cancel": the patient is asked a question the streams must track
    languages: Mapping[str, Rendering]
    organization_id: str | None = None  # None: a seed template, shared by every organization
    version: int = 0  # 0: the seed file's; a record's version otherwise
    updated_at_ms: int = 0
    updated_by: str = ""

    def visible_to(self, organization_id: str | None) -> bool:
        return self.organization_id is None or self.organization_id == organization_id

    def rendering(self, language: str) -> Rendering:
        try:
            return self.languages[language]
        except KeyError:
            raise UnknownTemplateError(f"template {self.name!r} has no language {language!r}") from None

    def check_params(self, params: Mapping[str, str]) -> None:
        missing = [p for p in self.params if p not in params]
        if missing:
            raise TemplateParameterError(f"template {self.name!r} is missing parameters: {', '.join(missing)}")
        extra = [p for p in params if p not in self.params]
        if extra:
            raise TemplateParameterError(f"template {self.name!r} does not take parameters: {', '.join(extra)}")
        for p in self.params:
            value = params[p]
            if not isinstance(value, str) or not value.strip() or len(value) > MAX_PARAM_CHARS:
                raise TemplateParameterError(
                    f"template {self.name!r} parameter {p!r} must be a non-empty string of at most "
                    f"{MAX_PARAM_CHARS} characters"
                )

    def body_parameters(self, params: Mapping[str, str]) -> list[str]:
        """WhatsApp body variables {{1}}..{{n}} in declaration order."""
        return [params[p] for p in self.params]


class TemplateCatalog:
    def __init__(self, templates: Mapping[str, Template]) -> None:
        self._templates = dict(templates)

    @classmethod
    def from_file(cls, path: Path = CATALOG_PATH) -> TemplateCatalog:
        raw = json.loads(path.read_text(encoding="utf-8"))
        templates = {}
        for name, spec in raw.items():
            languages = {
                lang: Rendering(
                    whatsapp_name=r["whatsapp"]["name"],
                    whatsapp_language=r["whatsapp"]["language"],
                    buttons=tuple(r["whatsapp"].get("buttons", ())),
                    sms=r["sms"],
                    voice=r["voice"],
                    body=r.get("body", r["sms"]),
                )
                for lang, r in spec["languages"].items()
            }
            templates[name] = Template(name, spec["category"], tuple(spec["params"]), spec.get("asks"), languages)
        return cls(templates)

    def names(self, organization_id: str | None = None) -> list[str]:
        """Every name; with an organization, only those it may use (its own and the seeds)."""
        if organization_id is None:
            return sorted(self._templates)
        return sorted(n for n, t in self._templates.items() if t.visible_to(organization_id))

    def put(self, template: Template) -> bool:
        """A record's version replaces the one held, unless the name belongs to someone else (a seed, or
        another organization's: names are one namespace, as they are at Meta for a shared WhatsApp
        account) or it is older. Copy-on-write: readers on other threads see the old or the new dict."""
        held = self._templates.get(template.name)
        if held is not None and (held.organization_id != template.organization_id
                                 or held.version > template.version):
            return False
        self._templates = {**self._templates, template.name: template}
        return True

    def whatsapp_status(self, name: str, language: str) -> str:
        """Meta's review of the template's WhatsApp form in `language`; UNKNOWN for no such template."""
        template = self._templates.get(name)
        rendering = template.languages.get(language) if template is not None else None
        return rendering.whatsapp_status if rendering is not None else "UNKNOWN"

    def get(self, name: str) -> Template:
        try:
            return self._templates[name]
        except KeyError:
            raise UnknownTemplateError(f"unknown template {name!r}") from None

    def validate(self, name: str, language: str, params: Mapping[str, str]) -> Template:
        template = self.get(name)
        template.rendering(language)
        template.check_params(params)
        return template

    def render_sms(self, name: str, language: str, params: Mapping[str, str]) -> str:
        """Parameters are folded to GSM-7 (María -> Maria, ñ and é kept): a name must not triple the cost."""
        text = self.validate(name, language, params).rendering(language).sms
        return text.format_map({k: gsm7_fold(v) for k, v in params.items()})

    def render_voice(self, name: str, language: str, params: Mapping[str, str]) -> str:
        return self.validate(name, language, params).rendering(language).voice.format_map(params)


def gsm7_fold(value: str) -> str:
    """Characters GSM-7 lacks replaced by their base letter (í -> i, ç -> c, ã -> a), else by '?'."""
    out = []
    for ch in value:
        if ch in GSM7_BASIC or ch in GSM7_EXT:
            out.append(ch)
            continue
        base = unicodedata.normalize("NFKD", ch)[0]
        out.append(base if base in GSM7_BASIC else "?")
    return "".join(out)


def sms_segments(text: str) -> tuple[str, int]:
    """(encoding, segment count) as carriers bill it."""
    if all(ch in GSM7_BASIC or ch in GSM7_EXT for ch in text):
        septets = sum(2 if ch in GSM7_EXT else 1 for ch in text)
        return "GSM-7", 1 if septets <= 160 else math.ceil(septets / 153)
    units = len(text.encode("utf-16-le")) // 2
    return "UCS-2", 1 if units <= 70 else math.ceil(units / 67)


@cache
def default_catalog() -> TemplateCatalog:
    return TemplateCatalog.from_file()
