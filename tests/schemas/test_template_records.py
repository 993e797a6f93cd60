"""Templates as TemplateVersion records, and the catalog's rule for which version it serves: tables."""
from __future__ import annotations

from dataclasses import replace

import pytest

from schemas.template_records import from_record, next_version, reviewed, template_key, to_record
from schemas.templates import Rendering, Template, TemplateCatalog

PT = Rendering("lembrete", "pt_BR", (), "Consulta em {clinic}.", "Consulta em {clinic}.", "Consulta em {clinic}.",
               whatsapp_status="PENDING", whatsapp_template_id="77")
MINE = Template("lembrete", "UTILITY", ("clinic",), None, {"pt": PT}, organization_id="clinic-42", version=1,
                updated_at_ms=1000, updated_by="ana")


def test_record_round_trip() -> None:
    assert from_record(to_record(MINE)) == MINE
    assert template_key("clinic-42", "lembrete") == b"clinic-42|lembrete"


def test_next_version_counts_from_the_held_one() -> None:
    assert next_version(MINE, None, 5, "ana").version == 1
    edited = next_version(MINE, replace(MINE, version=4), 5, "bea")
    assert (edited.version, edited.updated_at_ms, edited.updated_by) == (5, 5, "bea")


@pytest.mark.parametrize(("language", "status", "reason", "expected"), [
    pytest.param("pt_BR", "APPROVED", None, ("APPROVED", None, 2), id="approved-is-a-new-version"),
    pytest.param("pt_BR", "REJECTED", "INVALID_FORMAT", ("REJECTED", "INVALID_FORMAT", 2), id="rejected-with-reason"),
    pytest.param("pt_BR", "PENDING", None, None, id="repeated-status-changes-nothing"),
    pytest.param("en_US", "APPROVED", None, None, id="language-the-template-lacks"),
    pytest.param("pt_BR", "PAUSED", None, None, id="status-this-version-does-not-know"),
])
def test_reviewed(language: str, status: str, reason: str | None, expected: tuple[object, ...] | None) -> None:
    found = reviewed(MINE, language, status, reason, "77", 9, "meta")
    if expected is None:
        assert found is None
        return
    assert found is not None
    pt = found.languages["pt"]
    assert (pt.whatsapp_status, pt.whatsapp_reason, found.version) == expected
    assert (pt.whatsapp_template_id, found.updated_by) == ("77", "meta")


@pytest.mark.parametrize(("offered", "served_version"), [
    pytest.param(replace(MINE, version=2), 2, id="newer-version-of-the-owner-replaces"),
    pytest.param(replace(MINE, version=0), 1, id="older-version-ignored"),
    pytest.param(replace(MINE, version=9, organization_id="clinic-7"), 1, id="another-organizations-name-ignored"),
])
def test_catalog_put(offered: Template, served_version: int) -> None:
    catalog = TemplateCatalog({})
    assert catalog.put(MINE)
    catalog.put(offered)
    assert catalog.get("lembrete").version == served_version


def test_seed_templates_are_shared_and_cannot_be_taken() -> None:
    catalog = TemplateCatalog.from_file()
    seed = catalog.get("appointment_reminder")
    assert seed.organization_id is None and seed.visible_to("anyone")
    assert not catalog.put(replace(MINE, name="appointment_reminder"))
    assert catalog.whatsapp_status("appointment_reminder", "pt") == "APPROVED"
    assert catalog.put(MINE)
    assert catalog.whatsapp_status("lembrete", "pt") == "PENDING"
    assert catalog.whatsapp_status("lembrete", "es") == "UNKNOWN"
    assert "lembrete" in catalog.names("clinic-42") and "lembrete" not in catalog.names("clinic-7")
