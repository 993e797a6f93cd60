import pytest

from schemas.errors import TemplateParameterError, UnknownTemplateError
from schemas.templates import LANGUAGES, default_catalog

PARAMS = {"patient_name": "Ana", "clinic": "Clinica Norte", "date": "3 de mayo", "time": "10:30"}


def test_every_template_has_every_language_and_renders():
    catalog = default_catalog()
    assert {"appointment_reminder", "urgent_notice", "help", "opt_out_confirmation"} <= set(catalog.names())
    for name in catalog.names():
        template = catalog.get(name)
        params = {p: "x" for p in template.params}
        for lang in LANGUAGES:
            assert "{" not in catalog.render_sms(name, lang, params)
            assert "{" not in catalog.render_voice(name, lang, params)
            assert template.rendering(lang).whatsapp_name


def test_render_fills_parameters():
    text = default_catalog().render_sms("appointment_reminder", "en", PARAMS)
    assert "Ana" in text and "10:30" in text and "Reply 1 to confirm" in text


def test_unknown_template_and_language():
    with pytest.raises(UnknownTemplateError):
        default_catalog().validate("no_such", "es", {})
    with pytest.raises(UnknownTemplateError):
        default_catalog().validate("appointment_reminder", "fr", PARAMS)


@pytest.mark.parametrize(
    "params",
    [{k: v for k, v in PARAMS.items() if k != "time"}, {**PARAMS, "extra": "x"}, {**PARAMS, "date": ""},
     {**PARAMS, "date": "x" * 201}, {**PARAMS, "date": 5}],
)
def test_bad_parameters(params):
    with pytest.raises(TemplateParameterError):
        default_catalog().validate("appointment_reminder", "es", params)


def test_whatsapp_body_parameters_in_declared_order():
    t = default_catalog().get("appointment_reminder")
    assert t.body_parameters(PARAMS) == ["Ana", "Clinica Norte", "3 de mayo", "10:30"]
    assert t.rendering("es").buttons == ("confirm", "cancel")
