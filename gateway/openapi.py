"""The OpenAPI 3.1 document of the gateway, built from the same limits the validation enforces."""
from __future__ import annotations

from typing import Any

from connectors.factory import webhook_routes
from gateway import alerts, conversations, staff, webhook_endpoints
from gateway import validation as v
from gateway.patient import api as patient_api
from schemas.settings import GatewaySettings
from schemas.templates import LANGUAGES, MAX_PARAM_CHARS

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


def _error(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"description": description,
                           "content": {JSON: {"schema": {"$ref": "#/components/schemas/Error"}}}}
    if headers:
        out["headers"] = headers
    return out


RETRY_AFTER = {"Retry-After": {"description": "seconds to wait before retrying",
                               "schema": {"type": "integer", "minimum": 0}}}
COMMON_ERRORS = {
    "400": _error("malformed body (not JSON, wrong top-level shape)"),
    "401": _error("missing or unknown API key"),
    "403": _error("the key's role may not do this"),
    "413": _error("body larger than the limit"),
    "422": _error("a field is invalid; `field` names it"),
    "429": _error("this address was refused too often: retry after Retry-After seconds", RETRY_AFTER),
    "503": _error("Kafka did not take the request in time: retry after Retry-After seconds", RETRY_AFTER),
}
WEBHOOK_ERRORS = {
    "400": _error("malformed body"),
    "403": _error("missing or invalid signature"),
    "413": _error("body larger than the limit"),
    "429": _error("this address was refused too often: retry after Retry-After seconds", RETRY_AFTER),
    "503": _error("Kafka did not take the event in time (the provider retries)", RETRY_AFTER),
}
TIMESTAMP = {"type": "string", "format": "date-time", "maxLength": 40,
             "description": "RFC 3339 with an offset; send_at at most 60 s in the past"}


def _send_schema(item: bool) -> dict[str, Any]:
    def text(limit: int, doc: str) -> dict[str, Any]:
        return {"type": "string", "minLength": 1, "maxLength": limit, "description": doc}

    props: dict[str, Any] = {
        "to": {"type": "string", "pattern": r"^\+[0-9 ().-]+$", "maxLength": 40,
               "description": "an international number (+ and country code; spaces, hyphens, dots and parentheses "
                              "allowed), kept in libphonenumber's E.164 form; a number it does not know as valid "
                              "is 422 invalid_phone_number (PHI: sealed)"},
        "patient_ref": text(v.MAX_REF, "the clinic's patient reference (PHI: sealed)"),
        "recipient_name": text(v.MAX_NAME, "PHI: sealed"),
        "channels": {"type": "array", "minItems": 1, "maxItems": len(v.CHANNELS), "uniqueItems": True,
                     "items": {"type": "string", "enum": list(v.CHANNELS)},
                     "default": list(v.DEFAULT_CHANNELS), "description": "preference order"},
        "template": {"$ref": "#/components/schemas/TemplateRef"},
        "text": text(v.MAX_TEXT, "free text instead of a template (PHI: sealed)"),
        "language": {"type": "string", "enum": list(LANGUAGES), "description": "with `text` only"},
        "priority": {"type": "string", "enum": list(v.PRIORITIES), "default": "normal"},
        "send_at": TIMESTAMP,
        "expires_at": {**TIMESTAMP, "description": "RFC 3339 with an offset; in the future, after send_at"},
        "correlation_id": text(v.MAX_REF, "the caller's id, echoed in events"),
        "appointment_id": text(v.MAX_REF, "the appointment this message is about"),
        "timezone": {"type": "string", "maxLength": v.MAX_ZONE,
                     "description": "the patient's IANA time zone for quiet hours (else the appointment's, "
                                    "else the organization's)"},
        "metadata": {"type": "object", "maxProperties": v.MAX_METADATA_ENTRIES,
                     "additionalProperties": {"type": "string", "maxLength": v.MAX_METADATA_VALUE},
                     "description": "free labels; never PHI"},
        "idempotency_key": {"type": "string", "minLength": 1, "maxLength": v.MAX_IDEMPOTENCY_KEY,
                            "description": "required here or in the Idempotency-Key header" +
                                           (" (batch: header + '/' + index when absent)" if item else "")},
    }
    return {"type": "object", "additionalProperties": False, "required": ["to"], "properties": props,
            "oneOf": [{"required": ["template"]}, {"required": ["text"]}]}


FHIR_JSON = "application/fhir+json"
FHIR_TYPES = (FHIR_JSON, JSON)


def _outcome(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"description": description,
                           "content": {FHIR_JSON: {"schema": {"$ref": "#/components/schemas/OperationOutcome"}}}}
    if headers:
        out["headers"] = headers
    return out


FHIR_ERRORS = {
    "400": _outcome("not JSON, or not a FHIR JSON content type (code structure)"),
    "401": _outcome("missing or unknown API key (code login)"),
    "403": _outcome("the key's role may not send (code forbidden)"),
    "413": _outcome("body larger than the limit (code too-costly)"),
    "422": _outcome("invalid resource: each issue's expression names the element, never its value"),
    "429": _outcome("this address was refused too often (code throttled)", RETRY_AFTER),
    "503": _outcome("Kafka did not take it in time (code transient)", RETRY_AFTER),
}


def _webhook_paths() -> dict[str, Any]:
    """Each provider package's webhook operations (connectors.factory), with the shared error responses."""
    paths: dict[str, Any] = {}
    for _, route in webhook_routes():
        operation = dict(route.operation)
        shared = {code: WEBHOOK_ERRORS[code] for code in route.shared_errors}
        operation["responses"] = {**operation["responses"], **shared}
        paths.setdefault(route.path, {})[route.method.lower()] = operation
    return paths


def build_document(limits: GatewaySettings) -> dict[str, Any]:
    send_errors = {**COMMON_ERRORS, "409": _error("idempotency key reused with a different body")}
    idem_header = {"name": "Idempotency-Key", "in": "header", "required": False,
                   "schema": {"type": "string", "minLength": 1, "maxLength": v.MAX_IDEMPOTENCY_KEY},
                   "description": "required unless the body has idempotency_key"}
    accepted = {"description": "the broker acknowledged the SendRequest",
                "content": {JSON: {"schema": {"$ref": "#/components/schemas/Accepted"}}}}
    paths: dict[str, Any] = {
        "/v1/messages": {"post": {
            "summary": "Send one message", "tags": ["messages"], "operationId": "sendMessage",
            "parameters": [idem_header],
            "requestBody": {"required": True, "content": {JSON: {"schema": {"$ref": "#/components/schemas/Send"}}}},
            "responses": {"202": accepted, **send_errors},
        }},
        "/v1/messages:batch": {"post": {
            "summary": f"Send up to {limits.max_batch_items} messages; each item succeeds or fails alone",
            "tags": ["messages"], "operationId": "sendBatch", "parameters": [idem_header],
            "requestBody": {"required": True, "content": {JSON: {"schema": {
                "type": "object", "additionalProperties": False, "required": ["items"],
                "properties": {"items": {"type": "array", "minItems": 1, "maxItems": limits.max_batch_items,
                                         "items": {"$ref": "#/components/schemas/BatchItem"}}}}}}},
            "responses": {"200": {"description": "per-item results",
                                  "content": {JSON: {"schema": {"$ref": "#/components/schemas/BatchResult"}}}},
                          **send_errors},
        }},
        "/v1/messages/{message_id}": {"get": {
            "summary": "The message's reconciled status and history", "tags": ["messages"],
            "operationId": "getMessage",
            "parameters": [{"name": "message_id", "in": "path", "required": True,
                            "schema": {"type": "string", "maxLength": 64}}],
            "responses": {"200": {"description": "the state",
                                  "content": {JSON: {"schema": {"$ref": "#/components/schemas/MessageState"}}}},
                          "404": _error("unknown, or another organization's"), **COMMON_ERRORS},
        }},
        "/v1/templates": {"get": {
            "summary": "The template catalog", "tags": ["messages"], "operationId": "listTemplates",
            "responses": {"200": {"description": "templates", "content": {JSON: {"schema": {"type": "object"}}}},
                          **COMMON_ERRORS},
        }},
        staff.PATH: {"get": {
            "summary": "Notifications that need a person (newest held per organization), oldest first",
            "tags": ["staff"], "operationId": "listStaffNotifications",
            "parameters": [
                {"name": "since", "in": "query", "required": False,
                 "schema": {"type": "string", "format": "date-time", "maxLength": 40},
                 "description": "RFC 3339 with an offset (percent-encode '+'); inclusive"},
                {"name": "after", "in": "query", "required": False, "schema": {"type": "string", "maxLength": 300},
                 "description": "a page's next_after: continue right after its last item (not with since)"},
                {"name": "limit", "in": "query", "required": False,
                 "schema": {"type": "integer", "minimum": 1, "maximum": staff.MAX_LIMIT,
                            "default": staff.DEFAULT_LIMIT}}],
            "responses": {"200": {"description": "the organization's notifications; the patient's text is never "
                                                 "included (has_text says there is some)",
                                  "content": {JSON: {"schema": {"$ref": "#/components/schemas/StaffNotifications"}}}},
                          "401": COMMON_ERRORS["401"], "403": COMMON_ERRORS["403"], "429": COMMON_ERRORS["429"],
                          "422": _error("an unknown query parameter, a bad `since`, `after` or `limit`, or both "
                                        "`since` and `after`; `field` names it"),
                          "503": _error("the view is still loading: retry after Retry-After seconds", RETRY_AFTER)},
        }},
        "/v1/appointments/{appointment_id}": {"get": {
            "summary": "The appointment's reminder plan: each reminder scheduled, sent (with its message id), "
                       "skipped or cancelled with the reason; reminder_impossible when none can be sent",
            "tags": ["appointments"], "operationId": "getAppointment",
            "parameters": [{"name": "appointment_id", "in": "path", "required": True,
                            "schema": {"type": "string", "maxLength": 64}}],
            "responses": {"200": {"description": "the plan",
                                  "content": {JSON: {"schema": {"$ref": "#/components/schemas/AppointmentPlan"}}}},
                          "404": _error("no plan (unknown, or another organization's)"),
                          "503": _error("the view is still loading: retry after Retry-After seconds", RETRY_AFTER),
                          **{k: v for k, v in COMMON_ERRORS.items() if k != "503"}},
        }},
        **conversations.OPENAPI,
        **alerts.OPENAPI,
        **patient_api.OPENAPI,
        "/fhir/Slot/{slot_id}": {"put": {
            "summary": "Take one FHIR R4 Slot (free / busy, its Schedule contained for the practitioner and location); "
                       "a Bundle of Slots and Schedules goes to POST /fhir", "tags": ["fhir"],
            "operationId": "putFhirSlot",
            "parameters": [{"name": "slot_id", "in": "path", "required": True,
                            "schema": {"type": "string", "minLength": 1, "maxLength": 64}}],
            "requestBody": {"required": True, "content": {
                t: {"schema": {"$ref": "#/components/schemas/FhirResource"}} for t in FHIR_TYPES}},
            "responses": {"200": _outcome("published on the slots topic once Kafka acked; an informational "
                                          "OperationOutcome"),
                          "422": _outcome("not a Slot this door takes: the OperationOutcome names the element"),
                          **{k: v for k, v in COMMON_ERRORS.items() if k != "422"}},
        }},
        **webhook_endpoints.OPENAPI,
        "/fhir/Appointment/{appointment_id}": {"put": {
            "summary": "Take one FHIR R4 Appointment with its contained Patient", "tags": ["fhir"],
            "operationId": "putFhirAppointment",
            "parameters": [{"name": "appointment_id", "in": "path", "required": True,
                            "schema": {"type": "string", "minLength": 1, "maxLength": 64}},
                           {"name": "X-Carelay-Timezone", "in": "header", "required": False,
                            "schema": {"type": "string"},
                            "description": "IANA zone when the resources carry no timezone extension"}],
            "requestBody": {"required": True, "content": {
                t: {"schema": {"$ref": "#/components/schemas/FhirResource"}} for t in FHIR_TYPES}},
            "responses": {"201": _outcome("created (the appointments topic held no such appointment), published "
                                          "once Kafka acked; an informational OperationOutcome"),
                          "200": _outcome("updated, published once Kafka acked; an informational OperationOutcome"),
                          **FHIR_ERRORS},
        }},
        "/fhir": {"post": {
            "summary": "Take a transaction, batch or collection Bundle of Appointments and their Patients",
            "tags": ["fhir"], "operationId": "postFhirBundle",
            "requestBody": {"required": True, "content": {
                t: {"schema": {"$ref": "#/components/schemas/FhirResource"}} for t in FHIR_TYPES}},
            "responses": {"200": {"description": "a transaction-response Bundle, one entry per Appointment "
                                                 "(`201 Created` or `200 OK` each)",
                                  "content": {FHIR_JSON: {"schema": {"$ref": "#/components/schemas/FhirResource"}}}},
                          **FHIR_ERRORS},
        }},
        **_webhook_paths(),
        "/healthz": {"get": {"summary": "Alive", "tags": ["operations"], "security": [],
                             "responses": {"200": {"description": "alive"}}}},
        "/readyz": {"get": {"summary": "Kafka reachable and message state loaded", "tags": ["operations"],
                            "security": [], "responses": {"200": {"description": "ready"},
                                                          "503": {"description": "not ready"}}}},
        "/openapi.json": {"get": {"summary": "This document", "tags": ["operations"], "security": [],
                                  "responses": {"200": {"description": "OpenAPI 3.1"}}}},
        "/metrics": {"get": {"summary": "Prometheus metrics", "tags": ["operations"], "security": [],
                             "responses": {"200": {"description": "text exposition format"}}}},
    }
    status_entry = {"type": "object", "properties": {
        "status": {"type": "string"}, "at": {"type": "string"}, "channel": {"type": ["string", "null"]},
        "provider": {"type": ["string", "null"]}, "attempt_id": {"type": ["string", "null"]},
        "error_code": {"type": ["string", "null"]}, "source": {"type": ["string", "null"]},
        "reason": {"type": ["string", "null"], "description": "why (failures, blocks, expiry, retries, holds): a code"},
        "late": {"type": "boolean", "description": "reported after its attempt moved past it: never the latest event"},
        "attempt": {"type": ["integer", "null"], "description": "retrying: the provider call that failed"},
        "next_attempt_at": {"type": ["string", "null"], "description": "retrying, held, scheduled: the next try"}}}
    schemas = {
        "Error": {"type": "object", "required": ["error"], "properties": {"error": {
            "type": "object", "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                           "field": {"type": ["string", "null"]}}}}},
        "TemplateRef": {"type": "object", "additionalProperties": False, "required": ["name"], "properties": {
            "name": {"type": "string", "minLength": 1, "description": "a name from GET /v1/templates"},
            "language": {"type": "string", "enum": list(LANGUAGES), "default": "es"},
            "params": {"type": "object", "maxProperties": v.MAX_PARAMS,
                       "additionalProperties": {"type": "string", "minLength": 1, "maxLength": MAX_PARAM_CHARS},
                       "description": "exactly the template's parameters (PHI: sealed)"}}},
        "FhirResource": {"type": "object", "required": ["resourceType"],
                         "properties": {"resourceType": {"type": "string", "enum": ["Appointment", "Bundle"]}}},
        "OperationOutcome": {"type": "object", "required": ["resourceType", "issue"], "properties": {
            "resourceType": {"const": "OperationOutcome"},
            "issue": {"type": "array", "minItems": 1, "items": {"type": "object", "required": ["severity", "code"],
                      "properties": {"severity": {"type": "string"}, "code": {"type": "string"},
                                     "diagnostics": {"type": "string"},
                                     "expression": {"type": "array", "items": {"type": "string"}}}}}}},
        "Send": _send_schema(item=False),
        "BatchItem": _send_schema(item=True),
        "Accepted": {"type": "object", "required": ["message_id"], "properties": {
            "message_id": {"type": "string", "format": "uuid"}, "status": {"type": "string"}}},
        "BatchResult": {"type": "object", "properties": {
            "accepted": {"type": "integer"}, "rejected": {"type": "integer"},
            "results": {"type": "array", "items": {"type": "object"}}}},
        "StaffNotifications": {"type": "object", "required": ["notifications", "truncated", "next_since", "next_after"],
                               "properties": {
            "notifications": {"type": "array", "items": {"type": "object", "properties": {
                "event_id": {"type": "string"}, "type": {"type": "string"}, "reason": {"type": ["string", "null"]},
                "occurred_at": {"type": "string", "format": "date-time"},
                "recipient_id": {"type": "string", "description": "the patient's pseudonym"},
                "appointment_id": {"type": ["string", "null"]}, "message_id": {"type": ["string", "null"]},
                "channel": {"type": "string"}, "language": {"type": ["string", "null"]},
                "has_text": {"type": "boolean"},
                "details": {"type": "object", "additionalProperties": {"type": "string"}}}}},
            "truncated": {"type": "boolean", "description": "more notifications follow: ask again with next_since"},
            "next_since": {"type": ["string", "null"], "description": "the last item's time when truncated"},
            "next_after": {"type": ["string", "null"],
                           "description": "when truncated: pass as `after` for the next page (exact, however "
                                          "many items share a millisecond)"}}},
        "AppointmentPlan": {"type": "object", "properties": {
            "appointment_id": {"type": "string"},
            "status": {"type": "string", "description": "booked, rescheduled, cancelled, noshow or other"},
            "start_at": {"type": ["string", "null"], "format": "date-time"}, "timezone": {"type": "string"},
            "reminders": {"type": "array", "items": {"type": "object", "properties": {
                "name": {"type": "string", "description": "the offset: 24h, 2h"},
                "due_at": {"type": "string", "format": "date-time"},
                "state": {"type": "string", "enum": ["scheduled", "sent", "skipped", "cancelled"]},
                "reason": {"type": ["string", "null"],
                           "description": "quiet_hours (moved earlier), past, collapsed, late, already_sent, "
                                          "opted_out, cancelled, cancel_requested, ..."},
                "message_id": {"type": ["string", "null"], "description": "sent: GET /v1/messages/{id}"}}}},
            "reminder_impossible": {"type": "boolean", "description": "no reminder can be sent; staff were told"},
            "impossible_reason": {"type": ["string", "null"],
                                  "description": "each slot's reason, e.g. 24h=past,2h=past"},
            "updated_at": {"type": "string", "format": "date-time"}}},
        "MessageState": {"type": "object", "properties": {
            "message_id": {"type": "string"}, "status": {"type": "string"},
            "reason": {"type": ["string", "null"],
                       "description": "why a message is failed, blocked, expired, cancelled, retrying, "
                                      "held (rate_limited, quiet_hours, queued) or scheduled (send_at)"},
            "error_code": {"type": ["string", "null"], "description": "never set on a delivered message"},
            "next_attempt_at": {"type": ["string", "null"], "description": "retrying, held, scheduled"},
            "channel": {"type": ["string", "null"]}, "provider": {"type": ["string", "null"]},
            "provider_message_id": {"type": ["string", "null"]}, "hop": {"type": "integer"},
            "is_final": {"type": "boolean"}, "created_at": {"type": ["string", "null"]},
            "updated_at": {"type": ["string", "null"]}, "history": {"type": "array", "items": status_entry}}},
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "carelay gateway", "version": "1",
                 "description": "Send patient messages and receive provider webhooks. Every send is answered "
                                "only after Kafka acknowledged it. PHI fields are sealed before they leave "
                                "the gateway and are never echoed in errors."},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}, {"apiKey": []}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"},
                                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"}},
        },
    }
