"""The one error table: lookup by class hierarchy, the response shape, Retry-After on 503."""
from __future__ import annotations

import orjson
from starlette.exceptions import HTTPException

from gateway.errors import (
    ERROR_TABLE,
    GatewayError,
    InvalidField,
    InvalidNumber,
    TooManyRefusals,
    Unauthenticated,
    Unavailable,
    error_response,
    spec_for,
)
from schemas.errors import ContractError, PhiError, UnknownTemplateError


class SubNumber(InvalidNumber):
    pass


def test_lookup_walks_the_class_hierarchy():
    assert spec_for(InvalidField("x")).status == 422
    assert spec_for(SubNumber("x")).code == "invalid_phone_number"
    assert spec_for(UnknownTemplateError("x")).code == "unknown_template"
    assert spec_for(ContractError("x")).status == 422


def test_unknown_errors_are_500_without_their_message():
    response = error_response(PhiError("secret +5215512345678"))
    assert response.status_code == 500
    assert b"+52155" not in response.body
    response = error_response(RuntimeError("boom +5215512345678"))
    assert response.status_code == 500 and b"boom" not in response.body


def test_every_gateway_error_has_a_row_or_a_parent_row():
    for cls in GatewayError.__subclasses__():
        assert spec_for(cls("x")).status != 500, cls


def test_response_shape_and_headers():
    r = error_response(InvalidNumber("not E.164", field="to"))
    assert r.status_code == 422
    assert orjson.loads(r.body) == {"error": {"code": "invalid_phone_number", "message": "not E.164", "field": "to"}}
    r = error_response(Unavailable("slow", retry_after_s=3))
    assert (r.status_code, r.headers["retry-after"]) == (503, "3")
    r = error_response(TooManyRefusals("too many", retry_after_s=42))
    assert (r.status_code, r.headers["retry-after"], orjson.loads(r.body)["error"]["code"]) == (
        429, "42", "too_many_refusals")
    assert "bearer" in error_response(Unauthenticated("no")).headers["www-authenticate"].lower()
    assert error_response(HTTPException(405)).status_code == 405
    assert len(ERROR_TABLE) >= 10
