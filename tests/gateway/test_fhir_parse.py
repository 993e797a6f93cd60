"""Pure FHIR parsing: mapping, resolution and OperationOutcomes that name elements, never values."""
import contextlib

import orjson
import pytest

from gateway.fhir import FhirInvalid, outcome_response, parse_appointment, parse_bundle
from tests.gateway.fhir_samples import DOCTOR, NAME, PHONE, PLACE, appointment, bundle, mutate, patient

DEFAULT = "America/Mexico_City"


def parse(doc, header=None):
    return parse_appointment(doc, "Appointment", {}, path_id="apt-1", header_zone=header, default_zone=DEFAULT)


def test_maps_appointment_and_contained_patient():
    a = parse(appointment())
    assert (a.appointment_id, a.kind, a.status) == ("apt-1", "BOOKED", "booked")
    assert a.phone == PHONE  # the mobile number, spaces dropped
    assert (a.language, a.timezone, a.name, a.patient_ref) == ("es", DEFAULT, NAME, "p1")
    assert (a.clinic, a.location, a.practitioner) == ("Clinica Norte", PLACE, DOCTOR)
    assert a.start_at_ms == 1788280200000 and a.version == "1"


@pytest.mark.parametrize(("status", "kind"), [("cancelled", "CANCELLED"), ("noshow", "NOSHOW"),
                                              ("arrived", "OTHER"), ("fulfilled", "OTHER")])
def test_status_to_kind(status, kind):
    assert parse(appointment(status)).kind == kind


def test_cancelled_may_lack_a_start():
    doc = appointment("cancelled")
    del doc["start"]
    assert parse(doc).start_at_ms is None


def test_timezone_from_extension_then_header_then_default():
    ext = [{"url": "http://hl7.org/fhir/StructureDefinition/timezone", "valueCode": "America/Bogota"}]
    assert parse(appointment(extension=ext)).timezone == "America/Bogota"
    assert parse(appointment(), header="Europe/Lisbon").timezone == "Europe/Lisbon"


def test_language_falls_back_to_spanish():
    doc = appointment(contained=[patient(id="p1", communication=[
        {"language": {"coding": [{"code": "fr"}]}}])])
    assert parse(doc).language == "es"
    doc = appointment(contained=[patient(id="p1", communication=[{"language": {"coding": [{"code": "pt-BR"}]}}])])
    assert parse(doc).language == "pt"


def test_bundle_resolves_the_patient_by_full_url():
    [a] = parse_bundle(bundle(), header_zone=None, default_zone=DEFAULT)
    assert a.phone == PHONE and a.patient_ref == "pat-77" and a.appointment_id == "apt-1"
    [c] = parse_bundle(bundle("collection"), header_zone=None, default_zone=DEFAULT)
    assert c.kind == "BOOKED"


BAD = [
    (mutate(appointment(), lambda d: d.update(resourceType="Patient")), "Appointment.resourceType", "structure"),
    (mutate(appointment(), lambda d: d.update(status="done")), "Appointment.status", "code-invalid"),
    (mutate(appointment(), lambda d: d.pop("start")), "Appointment.start", "required"),
    (mutate(appointment(), lambda d: d.update(start="1 de mayo")), "Appointment.start", "value"),
    (mutate(appointment(), lambda d: d.update(start="2026-09-01T10:30:00")), "Appointment.start", "value"),
    (mutate(appointment(), lambda d: d.update(id="apt-2")), "Appointment.id", "invariant"),
    (mutate(appointment(), lambda d: d.update(participant=[])), "Appointment.participant", "required"),
    (mutate(appointment(), lambda d: d["participant"].pop(0)), "Appointment.participant", "required"),
    (mutate(appointment(), lambda d: d.update(contained=[])), "Appointment.participant[0].actor.reference",
     "not-found"),
    (mutate(appointment(), lambda d: d["contained"][0].update(telecom=[{"system": "email", "value": "x@y"}])),
     "Appointment.contained(Patient).telecom", "required"),
    (mutate(appointment(), lambda d: d["contained"][0]["telecom"][1].update(value="55 1234 5678")),
     "Appointment.contained(Patient).telecom[1].value", "value"),
    (mutate(appointment(), lambda d: d.update(extension=[
        {"url": "http://hl7.org/fhir/StructureDefinition/timezone", "valueCode": "Mars/Base"}])),
     "Appointment.extension[0].valueCode", "value"),
    (mutate(appointment(), lambda d: d.update(extension=[
        {"url": "http://hl7.org/fhir/StructureDefinition/timezone", "valueCode": "America"}])),
     "Appointment.extension[0].valueCode", "value"),
    (mutate(appointment(), lambda d: d.update(participant="Patient/1")), "Appointment.participant", "structure"),
]


def _patch(path: str, value):
    """Set the element at `path` (dots; digits index lists) of a sample Appointment to `value`."""
    def fn(doc):
        node = doc
        *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
        for p in parents:
            node = node[p]
        node[last] = value
    return mutate(appointment(meta={"versionId": "1", "lastUpdated": "2026-08-01T10:00:00Z"}), fn)


P = "Appointment.contained(Patient)"
NOT_OBJECTS = [  # an element FHIR defines as an object, given as something else: a 422 naming it
    ("telecom-period-string", _patch("contained.0.telecom.1.period", "2020-01-01"), f"{P}.telecom[1].period"),
    ("telecom-period-list", _patch("contained.0.telecom.1.period", [{"end": "2020"}]), f"{P}.telecom[1].period"),
    ("telecom-period-number", _patch("contained.0.telecom.1.period", 7), f"{P}.telecom[1].period"),
    ("telecom-entry-string", _patch("contained.0.telecom.0", "+525512345678"), f"{P}.telecom[0]"),
    ("communication-entry", _patch("contained.0.communication.0", "es"), f"{P}.communication[0]"),
    ("communication-language", _patch("contained.0.communication.0.language", "es"),
     f"{P}.communication[0].language"),
    ("language-coding-entry", _patch("contained.0.communication.0.language.coding.0", "es"),
     f"{P}.communication[0].language.coding[0]"),
    ("name-entry", _patch("contained.0.name.0", "Guadalupe"), f"{P}.name[0]"),
    ("extension-entry", _patch("extension", ["America/Bogota"]), "Appointment.extension[0]"),
    ("meta", _patch("meta", "1"), "Appointment.meta"),
    ("service-provider", _patch("serviceProvider", "Clinica"), "Appointment.serviceProvider"),
]


@pytest.mark.parametrize(("doc", "expression"), [r[1:] for r in NOT_OBJECTS], ids=[r[0] for r in NOT_OBJECTS])
def test_a_non_object_where_fhir_has_an_object_is_a_422_naming_it(doc, expression):
    with pytest.raises(FhirInvalid) as info:
        parse(doc)
    [issue] = info.value.issues
    assert (issue.expression, issue.code) == (expression, "structure")
    assert outcome_response(info.value).status_code == 422


def test_a_null_period_is_no_period():
    assert parse(_patch("contained.0.telecom.1.period", None)).phone == PHONE


def _elements(node, path=()):
    if isinstance(node, dict):
        items = list(node.items())
    elif isinstance(node, list):
        items = list(enumerate(node))
    else:
        return
    for k, v in items:
        yield (*path, k)
        yield from _elements(v, (*path, k))


def test_no_element_of_any_type_makes_the_parser_fail_other_than_with_an_outcome():
    rich = appointment(meta={"versionId": "1", "lastUpdated": "2026-08-01T10:00:00Z"},
                       serviceProvider={"reference": "Organization/1", "display": "Clinica"},
                       extension=[{"url": "http://hl7.org/fhir/StructureDefinition/timezone", "valueCode": "UTC"}])
    rich["contained"][0]["telecom"][1]["period"] = {"start": "2020-01-01"}
    for path in list(_elements(rich)):
        for bad in ("x", 7, 1e308, True, None, [], [1], {}, {"a": 1}):
            doc = mutate(rich, lambda d, path=path, bad=bad: _set(d, path, bad))
            with contextlib.suppress(FhirInvalid):  # anything else fails the test
                parse(doc)


def _set(doc, path, value):
    node = doc
    for p in path[:-1]:
        node = node[p]
    node[path[-1]] = value


@pytest.mark.parametrize(("doc", "expression", "code"), BAD)
def test_malformed_names_the_element_and_never_the_value(doc, expression, code):
    with pytest.raises(FhirInvalid) as info:
        parse(doc)
    [issue] = info.value.issues
    assert (issue.expression, issue.code) == (expression, code)
    response = outcome_response(info.value)
    assert response.status_code == 422 and response.media_type == "application/fhir+json"
    body = orjson.loads(response.body)
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["expression"] == [expression] and body["issue"][0]["severity"] == "error"
    for phi in ("1234", NAME, DOCTOR, PLACE, "Mars", "1 de mayo"):
        assert phi not in response.body.decode()


def test_bundle_collects_every_bad_entry():
    doc = bundle()
    doc["entry"].append(mutate(doc["entry"][1], lambda e: e["resource"].update(status="bad")))
    doc["entry"][1]["resource"]["start"] = "nope"
    with pytest.raises(FhirInvalid) as info:
        parse_bundle(doc, header_zone=None, default_zone=DEFAULT)
    assert [i.expression for i in info.value.issues] == ["Bundle.entry[1].resource.start",
                                                          "Bundle.entry[2].resource.status"]


@pytest.mark.parametrize(("doc", "expression"), [
    ({"resourceType": "Bundle", "type": "searchset", "entry": []}, "Bundle.type"),
    ({"resourceType": "Bundle", "type": "transaction", "entry": [{"resource": patient()}]}, "Bundle.entry"),
    ({"resourceType": "Appointment"}, "Bundle.resourceType"),
])
def test_bad_bundles(doc, expression):
    with pytest.raises(FhirInvalid) as info:
        parse_bundle(doc, header_zone=None, default_zone=DEFAULT)
    assert info.value.issues[0].expression == expression
