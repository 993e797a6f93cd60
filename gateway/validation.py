"""Pure parsing of a send request body into a frozen SendInput; raises GatewayErrors naming the field.

No I/O and no clock of its own (`now_ms` is passed in), so every rule is unit-tested without Kafka.
Error messages name fields and limits, never the values given (they may be PHI).
"""
from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson

from gateway.errors import (
    InvalidField,
    InvalidNumber,
    InvalidTemplateParams,
    InvalidTime,
    MalformedBody,
    UnknownTemplate,
)
from schemas.errors import TemplateParameterError, UnknownTemplateError
from schemas.numbers import NumberRefused, canonical_number
from schemas.templates import LANGUAGES, TemplateCatalog

CHANNELS = ("WHATSAPP", "SMS", "VOICE", "INAPP")
DEFAULT_CHANNELS = ("WHATSAPP", "SMS", "VOICE")
PRIORITIES = ("normal", "urgent")
SEND_AT_SKEW_MS = 60_000  # a send_at this far in the past is clock skew, not a mistake
MAX_SCHEDULE_AHEAD_MS = 366 * 24 * 3600 * 1000
MAX_IDEMPOTENCY_KEY = 128
MAX_REF = 128
MAX_NAME = 200
MAX_TEXT = 1600  # ten SMS segments; WhatsApp allows more, but reminders are short
MAX_METADATA_ENTRIES = 20
MAX_METADATA_KEY = 64
MAX_METADATA_VALUE = 256
MAX_PARAMS = 20
MAX_ZONE = 64

FIELDS = frozenset({
    "to", "patient_ref", "recipient_name", "channels", "template", "text", "language", "priority",
    "send_at", "expires_at", "correlation_id", "appointment_id", "metadata", "idempotency_key", "timezone",
})
TEMPLATE_FIELDS = frozenset({"name", "language", "params"})


@dataclass(frozen=True)
class SendInput:
    """A validated send, still in clear; sealing happens when it becomes a SendRequest record."""

    to: str
    idempotency_key: str
    channels: tuple[str, ...] = DEFAULT_CHANNELS
    template: str | None = None
    language: str = "es"
    params: tuple[tuple[str, str], ...] = ()
    text: str | None = None
    patient_ref: str | None = None
    recipient_name: str | None = None
    priority: str = "normal"
    send_at_ms: int | None = None
    expires_at_ms: int | None = None
    correlation_id: str | None = None
    appointment_id: str | None = None
    metadata: tuple[tuple[str, str], ...] = field(default=())
    timezone: str | None = None  # the patient's IANA zone (quiet hours)

    def canonical(self) -> bytes:
        """Canonical JSON of everything but the idempotency key: what "the same body" means (a send
        without a timezone keeps the fingerprint it had before the field existed)."""
        doc = {k: v for k, v in self.__dict__.items()
               if k != "idempotency_key" and not (k == "timezone" and v is None)}
        return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)

    def fingerprint(self, key: bytes) -> bytes:
        return hmac.digest(key, self.canonical(), "sha256")  # the one-shot C path: a third of hmac.new's cost


def parse_send(
    body: Any, *, now_ms: int, catalog: TemplateCatalog, header_key: str | None = None, prefix: str = "",
    organization_id: str | None = None,
) -> SendInput:
    """Validate one send. `prefix` qualifies field names in errors (batch items: "items[3].")."""
    if not isinstance(body, Mapping):
        if prefix:
            raise InvalidField("each item must be a JSON object", field=prefix.rstrip("."))
        raise MalformedBody("the body must be a JSON object")
    unknown = sorted(str(k) for k in body if k not in FIELDS)
    if unknown:
        raise InvalidField("unknown field", field=prefix + unknown[0][:64])

    key = _idempotency_key(body.get("idempotency_key"), header_key, prefix)
    to = body.get("to")
    if not isinstance(to, str):
        raise InvalidField("required: the recipient's phone number in E.164 (+ and digits)", field=prefix + "to")
    try:
        to = canonical_number(to)  # one spelling per phone, before it becomes a pseudonym
    except NumberRefused as exc:
        raise InvalidNumber(f"the phone number {exc.message}", field=prefix + "to") from None

    channels = _channels(body.get("channels"), prefix)
    priority = body.get("priority", "normal")
    if not isinstance(priority, str) or priority.lower() not in PRIORITIES:
        raise InvalidField("must be 'normal' or 'urgent'", field=prefix + "priority")

    template, language, params, text = _content(body, catalog, prefix, organization_id)

    send_at = parse_timestamp(body.get("send_at"), prefix + "send_at")
    expires_at = parse_timestamp(body.get("expires_at"), prefix + "expires_at")
    if send_at is not None:
        if send_at < now_ms - SEND_AT_SKEW_MS:
            raise InvalidTime("is in the past", field=prefix + "send_at")
        if send_at > now_ms + MAX_SCHEDULE_AHEAD_MS:
            raise InvalidTime("is more than a year ahead", field=prefix + "send_at")
    if expires_at is not None:
        if expires_at <= now_ms:
            raise InvalidTime("has already passed", field=prefix + "expires_at")
        if send_at is not None and expires_at <= send_at:
            raise InvalidTime("must be after send_at", field=prefix + "expires_at")

    return SendInput(
        to=to,
        idempotency_key=key,
        channels=channels,
        template=template,
        language=language,
        params=params,
        text=text,
        patient_ref=_opt_str(body.get("patient_ref"), prefix + "patient_ref", MAX_REF),
        recipient_name=_opt_str(body.get("recipient_name"), prefix + "recipient_name", MAX_NAME),
        priority=priority.lower(),
        send_at_ms=send_at,
        expires_at_ms=expires_at,
        correlation_id=_opt_str(body.get("correlation_id"), prefix + "correlation_id", MAX_REF),
        appointment_id=_opt_str(body.get("appointment_id"), prefix + "appointment_id", MAX_REF),
        metadata=_metadata(body.get("metadata"), prefix + "metadata"),
        timezone=_timezone(body.get("timezone"), prefix + "timezone"),
    )


def _idempotency_key(in_body: Any, header_key: str | None, prefix: str) -> str:
    name = prefix + "idempotency_key"
    if in_body is not None and not isinstance(in_body, str):
        raise InvalidField("must be a string", field=name)
    if in_body is not None and header_key is not None and in_body != header_key:
        raise InvalidField("differs from the Idempotency-Key header", field=name)
    key = in_body if in_body is not None else header_key
    if key is None:
        raise InvalidField("required: the Idempotency-Key header or the idempotency_key field", field=name)
    if not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY or not key.isprintable():
        raise InvalidField(f"must be 1 to {MAX_IDEMPOTENCY_KEY} printable characters", field=name)
    return key


def _channels(raw: Any, prefix: str) -> tuple[str, ...]:
    if raw is None:
        return DEFAULT_CHANNELS
    name = prefix + "channels"
    if not isinstance(raw, list) or not raw:
        raise InvalidField(f"must be a non-empty list of {', '.join(CHANNELS)}", field=name)
    out: list[str] = []
    for item in raw:
        if not isinstance(item, str) or item.upper() not in CHANNELS:
            raise InvalidField(f"each channel must be one of {', '.join(CHANNELS)}", field=name)
        if item.upper() in out:
            raise InvalidField("a channel appears twice", field=name)
        out.append(item.upper())
    return tuple(out)


def _content(
    body: Mapping[str, Any], catalog: TemplateCatalog, prefix: str, organization_id: str | None = None,
) -> tuple[str | None, str, tuple[tuple[str, str], ...], str | None]:
    template, text = body.get("template"), body.get("text")
    if (template is None) == (text is None):
        raise InvalidField("exactly one of template and text is required", field=prefix + "template")
    if text is not None:
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
            raise InvalidField(f"must be a non-empty string of at most {MAX_TEXT} characters", field=prefix + "text")
        language = body.get("language", "es")
        if language not in LANGUAGES:
            raise InvalidField(f"must be one of {', '.join(LANGUAGES)}", field=prefix + "language")
        return None, str(language), (), text
    if "language" in body:
        raise InvalidField("give the language inside template", field=prefix + "language")
    if not isinstance(template, Mapping):
        raise InvalidField("must be an object {name, language, params}", field=prefix + "template")
    unknown = [str(k) for k in template if k not in TEMPLATE_FIELDS]
    if unknown:
        raise InvalidField("unknown field", field=prefix + "template." + unknown[0][:64])
    name, language = template.get("name"), template.get("language", "es")
    if not isinstance(name, str) or not name:
        raise InvalidField("required: a template name from the catalog", field=prefix + "template.name")
    if not isinstance(language, str) or language not in LANGUAGES:
        raise InvalidField(f"must be one of {', '.join(LANGUAGES)}", field=prefix + "template.language")
    params = template.get("params", {})
    where = prefix + "template.params"
    if not isinstance(params, Mapping) or len(params) > MAX_PARAMS:
        raise InvalidField(f"must be an object of at most {MAX_PARAMS} string values", field=where)
    if not all(isinstance(v, str) for v in params.values()):
        raise InvalidField("every parameter value must be a string", field=where)
    try:
        tpl = catalog.get(name)
        if not tpl.visible_to(organization_id):  # another organization's template: as if there were none
            raise UnknownTemplateError(name)
    except UnknownTemplateError:
        # the catalog's message quotes the name given: keep our own
        raise UnknownTemplate("unknown template (GET /v1/templates lists them)", field=prefix + "template.name") \
            from None
    if language not in tpl.languages:
        raise UnknownTemplate("the template has no such language", field=prefix + "template.language")
    try:
        tpl.check_params(params)  # the catalog's rules, the same the streams render with
    except TemplateParameterError as exc:
        # names parameters and the catalog's template name, never a value
        raise InvalidTemplateParams(str(exc), field=where) from None
    return name, language, tuple((p, params[p]) for p in tpl.params), None


def parse_timestamp(raw: Any, name: str) -> int | None:
    """RFC 3339 with an explicit offset ("2026-05-01T09:30:00-06:00" or "...Z")."""
    if raw is None:
        return None
    if not isinstance(raw, str) or len(raw) > 40:
        raise InvalidTime("must be an RFC 3339 date-time with offset", field=name)
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidTime("must be an RFC 3339 date-time with offset", field=name) from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise InvalidTime("needs a UTC offset (Z or +hh:mm)", field=name)
    try:
        return int(parsed.timestamp() * 1000)
    except (OverflowError, ValueError, OSError):
        raise InvalidTime("is out of range", field=name) from None


def _timezone(raw: Any, name: str) -> str | None:
    """An IANA zone name ("America/Bogota"), as quiet hours read the patient's local time."""
    if raw is None:
        return None
    if not isinstance(raw, str) or not 1 <= len(raw) <= MAX_ZONE or raw != raw.strip():
        raise InvalidField("must be an IANA time zone name such as America/Mexico_City", field=name)
    try:
        ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder of the zone tree ("America")
        raise InvalidField("not an IANA time zone name (e.g. America/Mexico_City)", field=name) from None
    return raw


def _opt_str(raw: Any, name: str, limit: int) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str) or not raw.strip() or len(raw) > limit:
        raise InvalidField(f"must be a non-empty string of at most {limit} characters", field=name)
    return raw


def _metadata(raw: Any, name: str) -> tuple[tuple[str, str], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, Mapping) or len(raw) > MAX_METADATA_ENTRIES:
        raise InvalidField(f"must be an object of at most {MAX_METADATA_ENTRIES} string values", field=name)
    for k, v in raw.items():
        if not isinstance(v, str) or not 1 <= len(k) <= MAX_METADATA_KEY or len(v) > MAX_METADATA_VALUE:
            raise InvalidField(f"keys of 1 to {MAX_METADATA_KEY} and string values of at most "
                               f"{MAX_METADATA_VALUE} characters", field=name)
    return tuple(sorted(raw.items()))
