"""Send validation is pure: every rule checked without Kafka, and no error echoes a PHI value."""
from __future__ import annotations

import time

import pytest

from gateway.errors import (
    InvalidField,
    InvalidNumber,
    InvalidTemplateParams,
    InvalidTime,
    MalformedBody,
    UnknownTemplate,
    spec_for,
)
from gateway.validation import DEFAULT_CHANNELS, parse_send
from schemas.templates import default_catalog
from tests.gateway.helpers import PARAMS, PHONE, send_body

NOW = int(time.time() * 1000)
CATALOG = default_catalog()


def parse(body: object, header: str | None = "k1", prefix: str = ""):
    return parse_send(body, now_ms=NOW, catalog=CATALOG, header_key=header, prefix=prefix)


def test_a_full_template_send_parses_with_defaults():
    inp = parse(send_body())
    assert inp.to == PHONE
    assert inp.channels == DEFAULT_CHANNELS
    assert inp.template == "appointment_reminder"
    assert dict(inp.params) == PARAMS
    assert inp.priority == "normal"
    assert inp.idempotency_key == "k1"


def test_text_send_with_language_and_channel_order():
    inp = parse({"to": PHONE, "text": "hola", "language": "pt", "channels": ["sms", "WHATSAPP"],
                 "priority": "URGENT"})
    assert (inp.text, inp.language, inp.channels, inp.priority) == ("hola", "pt", ("SMS", "WHATSAPP"), "urgent")


def test_key_from_body_and_header_must_agree():
    assert parse(send_body(idempotency_key="abc"), header=None).idempotency_key == "abc"
    with pytest.raises(InvalidField) as exc:
        parse(send_body(idempotency_key="abc"), header="xyz")
    assert exc.value.field == "idempotency_key"
    with pytest.raises(InvalidField):
        parse(send_body(), header=None)


def test_canonical_form_ignores_key_order_and_the_key():
    a = parse(send_body(), header="one")
    b = parse(dict(reversed(list(send_body().items()))), header="two")
    assert a.canonical() == b.canonical()
    assert a.fingerprint(b"k" * 32) == b.fingerprint(b"k" * 32)
    assert parse(send_body(to="+5215500000000")).canonical() != a.canonical()


SECRET = "+5215599999999"  # a "PHI" value that must never come back in an error


@pytest.mark.parametrize(("body", "exc", "field"), [
    ([1, 2], MalformedBody, None),
    ({**send_body(), "surprise": 1}, InvalidField, "surprise"),
    (send_body(to=SECRET[:-8]), InvalidNumber, "to"),
    (send_body(to="0052" + SECRET), InvalidNumber, "to"),
    (send_body(to=5215512345678), InvalidField, "to"),
    (send_body(channels=[]), InvalidField, "channels"),
    (send_body(channels=["SMS", "sms"]), InvalidField, "channels"),
    (send_body(channels=["FAX"]), InvalidField, "channels"),
    (send_body(priority="high"), InvalidField, "priority"),
    (send_body(text="hi"), InvalidField, "template"),
    ({"to": PHONE}, InvalidField, "template"),
    (send_body(template={"name": "nope"}), UnknownTemplate, "template.name"),
    (send_body(template={"name": "appointment_reminder", "language": "fr", "params": PARAMS}), InvalidField,
     "template.language"),
    (send_body(template={"name": "appointment_reminder", "params": {"patient_name": SECRET}}),
     InvalidTemplateParams, "template.params"),
    (send_body(template={"name": "appointment_reminder", "params": {**PARAMS, "extra": SECRET}}),
     InvalidTemplateParams, "template.params"),
    (send_body(template={"name": "appointment_reminder", "params": {**PARAMS, "clinic": 7}}),
     InvalidField, "template.params"),
    (send_body(template={"name": "appointment_reminder", "params": {**PARAMS, "clinic": "x" * 201}}),
     InvalidTemplateParams, "template.params"),
    (send_body(send_at="2020-01-01T00:00:00Z"), InvalidTime, "send_at"),
    (send_body(send_at="2030-01-01T00:00:00"), InvalidTime, "send_at"),
    (send_body(send_at="tomorrow"), InvalidTime, "send_at"),
    (send_body(expires_at="2020-01-01T00:00:00+00:00"), InvalidTime, "expires_at"),
    (send_body(send_at="2099-01-02T00:00:00Z"), InvalidTime, "send_at"),
    (send_body(recipient_name=""), InvalidField, "recipient_name"),
    (send_body(metadata={"k": 1}), InvalidField, "metadata"),
    (send_body(metadata={f"k{i}": "v" for i in range(21)}), InvalidField, "metadata"),
    ({"to": PHONE, "text": SECRET * 200}, InvalidField, "text"),
    (send_body(timezone="Mars/Base"), InvalidField, "timezone"),
    (send_body(timezone="America"), InvalidField, "timezone"),  # a folder of the zone tree, not a zone
    (send_body(timezone="zone.tab"), InvalidField, "timezone"),  # a file of the zone tree, not a zone
])
def test_bad_input_names_the_field_and_never_echoes_values(body, exc, field):
    with pytest.raises(exc) as info:
        parse(body)
    assert info.value.field == field
    assert SECRET not in str(info.value) and "Ana" not in str(info.value)
    assert 400 <= spec_for(info.value).status < 500


@pytest.mark.parametrize(("to", "expected"), [
    ("+525512345678", "+525512345678"),
    ("+5215512345678", "+525512345678"),
    ("+1 (650) 555-1234", "+16505551234"),
], ids=["e164", "mx-old-mobile-521", "formatted"])
def test_the_recipient_is_kept_in_its_one_canonical_form(to, expected):
    inp = parse(send_body(to=to))
    assert inp.to == expected
    assert inp.canonical() == parse(send_body(to=expected)).canonical()  # one idempotency fingerprint


@pytest.mark.parametrize(("to", "reason"), [
    ("+16505551234\n", "may hold only digits"),
    ("+16505551234\r\n", "may hold only digits"),
    ("\t+16505551234", "may hold only digits"),
    ("+12345678", "not a valid number"),
    ("+15551234567", "not a valid number"),
    ("5512345678", "must start with +"),
], ids=["trailing-newline", "trailing-crlf", "leading-tab", "eight-digits", "fictional-area-code", "national-form"])
def test_a_number_that_is_not_canonical_is_refused_naming_the_field(to, reason):
    with pytest.raises(InvalidNumber) as info:
        parse(send_body(to=to), prefix="items[0].")
    assert info.value.field == "items[0].to" and reason in info.value.message
    assert spec_for(info.value).status == 422 and spec_for(info.value).code == "invalid_phone_number"
    assert "1234" not in info.value.message


def test_expiry_must_follow_send_at():
    soon = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(NOW / 1000 + 3600))
    sooner = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(NOW / 1000 + 1800))
    inp = parse(send_body(send_at=sooner, expires_at=soon))
    assert inp.send_at_ms is not None and inp.expires_at_ms is not None and inp.send_at_ms < inp.expires_at_ms
    with pytest.raises(InvalidTime) as info:
        parse(send_body(send_at=soon, expires_at=sooner))
    assert info.value.field == "expires_at"


def test_small_clock_skew_on_send_at_is_tolerated():
    skewed = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(NOW / 1000 - 30))
    assert parse(send_body(send_at=skewed)).send_at_ms is not None


def test_batch_items_carry_their_index_in_the_field():
    with pytest.raises(InvalidNumber) as info:
        parse(send_body(to="nope"), prefix="items[3].")
    assert info.value.field == "items[3].to"
    with pytest.raises(InvalidField) as info2:
        parse("x", prefix="items[0].")
    assert info2.value.field == "items[0]"


@pytest.mark.parametrize(("organization_id", "known"), [
    pytest.param("clinic-42", True, id="the-owner-sends-its-template"),
    pytest.param("clinic-7", False, id="another-organization-does-not-see-it"),
])
def test_an_organizations_template_is_its_own(organization_id, known):
    from dataclasses import replace

    from schemas.templates import TemplateCatalog
    catalog = TemplateCatalog.from_file()
    seed = catalog.get("appointment_reminder")
    catalog.put(replace(seed, name="lembrete", organization_id="clinic-42", version=1))
    body = send_body(template={"name": "lembrete", "language": "pt", "params": PARAMS})
    if known:
        inp = parse_send(body, now_ms=NOW, catalog=catalog, header_key="k1", organization_id=organization_id)
        assert inp.template == "lembrete"
        return
    with pytest.raises(UnknownTemplate) as caught:
        parse_send(body, now_ms=NOW, catalog=catalog, header_key="k1", organization_id=organization_id)
    assert caught.value.field == "template.name"
