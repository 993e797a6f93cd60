"""The templates page's data and checks as tables: the form's wrong fields, the next version an edit
makes (which edits keep Meta's review), the preview's filling, the rows an organization sees."""
from __future__ import annotations

from dataclasses import replace

import pytest

from gateway.console.templates_view import Form, build, errors, fill, needs_review, rows
from schemas.templates import Rendering, Template, TemplateCatalog

ORG = "clinic-42"
GOOD = Form("lembrete", "UTILITY", ("clinic", "date"), "pt", "Consulta em {clinic} no dia {date}.",
            "Consulta em {clinic}, {date}.", "Consulta em {clinic}.")
PT = Rendering("lembrete", "pt_BR", (), GOOD.sms, GOOD.voice, body=GOOD.body, whatsapp_status="APPROVED",
               whatsapp_template_id="77")
HELD = Template("lembrete", "UTILITY", ("clinic", "date"), None, {"pt": PT}, organization_id=ORG, version=3)


def catalog(*held: Template) -> TemplateCatalog:
    c = TemplateCatalog.from_file()
    for t in held:
        c.put(t)
    return c


@pytest.mark.parametrize(("change", "wrong"), [
    pytest.param({}, [], id="good"),
    pytest.param({"name": "Lembrete"}, ["name"], id="name-upper-case"),
    pytest.param({"name": "appointment_reminder"}, ["name"], id="name-of-a-seed"),
    pytest.param({"category": "PROMO"}, ["category"], id="unknown-category"),
    pytest.param({"params": ("clinic", "clinic")}, ["params", "body", "sms"], id="repeated-field"),
    pytest.param({"params": tuple(f"p{i}" for i in range(11))}, ["params", "body", "sms", "voice"],
                 id="too-many-fields"),
    pytest.param({"language": "fr"}, ["language"], id="unknown-language"),
    pytest.param({"body": "Consulta em {clinica}"}, ["body"], id="undeclared-field-in-text"),
    pytest.param({"sms": "Consulta em {clinic"}, ["sms"], id="malformed-braces"),
    pytest.param({"voice": "  "}, ["voice"], id="empty-text"),
    pytest.param({"sms": "x" * 1025}, ["sms"], id="text-too-long"),
    pytest.param({"body": "Consulta {}"}, ["body"], id="positional-placeholder"),
])
def test_new_template_errors(change: dict[str, object], wrong: list[str]) -> None:
    assert errors(replace(GOOD, **change), catalog(), ORG, None) == wrong  # type: ignore[arg-type]


def test_a_name_another_organization_holds_is_taken_and_not_editable() -> None:
    theirs = replace(HELD, organization_id="clinic-7")
    assert errors(GOOD, catalog(theirs), ORG, None) == ["name"]
    assert errors(GOOD, catalog(theirs), ORG, theirs) == ["name"]
    assert errors(GOOD, catalog(HELD), ORG, HELD) == []


@pytest.mark.parametrize(("change", "status", "template_id"), [
    pytest.param({"sms": "Outra: {clinic}"}, "APPROVED", "77", id="sms-only-keeps-the-review"),
    pytest.param({"body": "Nova consulta em {clinic}."}, "DRAFT", "77", id="new-whatsapp-text-needs-review"),
    pytest.param({"language": "es", "body": "Cita en {clinic}."}, "DRAFT", None, id="new-language-needs-review"),
])
def test_an_edit_is_the_next_version(change: dict[str, str], status: str, template_id: str | None) -> None:
    form = replace(GOOD, **change)
    new = build(form, HELD, ORG, 99, "ana")
    assert (new.version, new.updated_at_ms, new.updated_by, new.organization_id) == (4, 99, "ana", ORG)
    r = new.languages[form.language]
    assert (r.whatsapp_status, r.whatsapp_template_id) == (status, template_id)
    assert needs_review(new, form.language) is (status == "DRAFT")
    assert new.languages["pt"].whatsapp_language == "pt_BR"


def test_a_new_template_is_version_one_awaiting_review() -> None:
    new = build(GOOD, None, ORG, 5, "ana")
    assert (new.version, new.params, new.organization_id, needs_review(new, "pt")) == (1, ("clinic", "date"), ORG,
                                                                                       True)
    assert new.languages["pt"].whatsapp_name == "lembrete"


@pytest.mark.parametrize(("text", "params", "shown"), [
    pytest.param("Em {clinic} no dia {date}", {"clinic": "Sul", "date": "3/5"}, "Em Sul no dia 3/5", id="filled"),
    pytest.param("Em {clinic} no dia {date}", {"clinic": "Sul", "date": ""}, "Em Sul no dia [date]",
                 id="empty-sample-shows-the-field"),
    pytest.param("Em {clinic", {}, "Em {clinic", id="malformed-shown-as-is"),
])
def test_fill(text: str, params: dict[str, str], shown: str) -> None:
    assert fill(text, params) == shown


def test_rows_are_the_organizations_own_then_the_shared_seeds() -> None:
    theirs = replace(HELD, name="outro", organization_id="clinic-7",
                     languages={"pt": replace(PT, whatsapp_name="outro")})
    found = rows(catalog(HELD, theirs), ORG)
    assert found[0].template.name == "lembrete" and not found[0].shared
    assert all(r.shared for r in found[1:]) and "outro" not in [r.template.name for r in found]
    (pt,) = found[0].languages
    assert (pt.language, pt.status, pt.whatsapp) == ("pt", "APPROVED", "Consulta em [clinic] no dia [date].")
