"""Every SMS rendering stays GSM-7 and fits two segments with parameters at realistic maximum lengths,
accents included (the renderer folds parameters to GSM-7, so one í cannot switch a reminder to UCS-2)."""
import pytest

from schemas.templates import LANGUAGES, default_catalog, gsm7_fold
from schemas.templates import sms_segments as segments

# the longest values a clinic realistically sends (names in full with accents, long clinic names)
REALISTIC = {
    "patient_name": "María Guadalupe Fernández",
    "clinic": "Clínica de Especialidades Médicas del Norte",
    "date": "30 de septiembre",
    "time": "12:30 PM",
    "notice": "Su cirugía de mañana fue cancelada. Llame al 55 1234 5678 para reprogramar.",
}


def test_segment_counter():
    assert segments("a" * 160) == ("GSM-7", 1) and segments("a" * 161) == ("GSM-7", 2)
    assert segments("€" * 80) == ("GSM-7", 1) and segments("í" * 70) == ("UCS-2", 1)
    assert segments("í" * 71) == ("UCS-2", 2)


@pytest.mark.parametrize("name", default_catalog().names())
@pytest.mark.parametrize("language", LANGUAGES)
def test_sms_fits_two_segments(name, language):
    catalog = default_catalog()
    template = catalog.get(name)
    params = {p: REALISTIC[p] for p in template.params}
    encoding, count = segments(catalog.render_sms(name, language, params))
    assert (encoding, count <= 2) == ("GSM-7", True), (name, language, encoding, count)
    # the fixed text alone stays GSM-7, so plain-ASCII parameters never pay the UCS-2 price
    plain = {p: "x" for p in template.params}
    assert segments(catalog.render_sms(name, language, plain))[0] == "GSM-7", (name, language)


def test_catalog_has_the_care_templates_in_every_language():
    catalog = default_catalog()
    wanted = {"appointment_reminder", "appointment_confirmed", "appointment_cancelled", "appointment_rescheduled",
              "urgent_notice", "help", "opt_out_confirmation", "opt_in_confirmation", "clarification",
              "holding_message"}
    assert wanted <= set(catalog.names())
    for name in wanted:
        assert set(catalog.get(name).languages) >= set(LANGUAGES)


def test_folding_keeps_what_gsm7_has_and_replaces_the_rest():
    assert gsm7_fold("María Conceição Güémez Ñúñez") == "Maria Conceicao Güémez Ñuñez"
    assert gsm7_fold("José 李") == "José ?"
    text = default_catalog().render_sms("appointment_reminder", "pt", {p: REALISTIC[p] for p in
                                         default_catalog().get("appointment_reminder").params})
    assert "Maria Guadalupe Fernandez" in text and "Clinica de Especialidades Médicas" in text
