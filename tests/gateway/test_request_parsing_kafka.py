"""Malformed request metadata (query strings, headers, JSON webhooks without a body hash) gets a 4xx,
never a 500, with or without credentials."""
from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from twilio.request_validator import RequestValidator

from tests.gateway.helpers import SENDER

TWILIO_JSON = {"MessageSid": "SM1", "MessageStatus": "delivered"}


def raw_request(client: Any, method: str, path: str, *, query: bytes = b"",
                headers: list[tuple[bytes, bytes]] | None = None, body: bytes = b"") -> int:
    """The status the app answers a request built byte by byte (an HTTP client would percent-encode
    what a raw socket can send), on the app's own event loop."""
    status: list[int] = []

    async def call() -> None:
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
                 "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": query,
                 "root_path": "", "headers": [(b"host", b"testserver"), *(headers or [])],
                 "client": ("127.0.0.1", 50000), "server": ("testserver", 80)}
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])

        try:
            await client.app(scope, receive, send)
        except Exception:  # the server-error middleware answers 500, then re-raises
            status.append(500)

    client.portal.call(call)
    return status[0]


SENDER_RAW = [(b"authorization", SENDER["Authorization"].encode())]
NOT_UTF8 = b"org=\xff\xfe&message_id=m-1"


@pytest.mark.parametrize(("method", "path", "headers"), [
    ("POST", "/webhooks/twilio/status", [(b"x-twilio-signature", b"c2lnbmF0dXJl")]),
    ("POST", "/webhooks/twilio/inbound", []),
    ("POST", "/webhooks/meta", [(b"x-hub-signature-256", b"sha256=00")]),
    ("GET", "/webhooks/meta", []),
    ("GET", "/v1/staff/notifications", SENDER_RAW),
    ("GET", "/v1/templates", SENDER_RAW),
    ("GET", "/v1/messages/m-1", SENDER_RAW),
    ("POST", "/v1/messages", []),
    ("PUT", "/fhir/Appointment/a-1", SENDER_RAW),
    ("GET", "/readyz", []),
], ids=["twilio-status-signed", "twilio-inbound-unsigned", "meta", "meta-verify", "staff", "templates", "read",
        "send-unauthenticated", "fhir", "readyz"])
def test_a_query_string_that_is_not_utf8_is_never_a_500(shared_client, method, path, headers):
    status = raw_request(shared_client, method, path, query=NOT_UTF8, headers=headers,
                         body=b"MessageSid=SM1" if method in ("POST", "PUT") else b"")
    assert 400 <= status < 500 or status == 200, status


@pytest.mark.parametrize("value", ["\u00b2", "1\u00b3", "\u0663"], ids=["superscript-two", "superscript-three",
                                                                      "arabic-indic-three"])
def test_a_content_length_that_is_not_ascii_digits_is_a_400(shared_client, value):
    headers = [(b"content-length", value.encode("latin-1", "replace")),
               (b"content-type", b"application/x-www-form-urlencoded")]
    assert raw_request(shared_client, "POST", "/webhooks/twilio/status", headers=headers, body=b"a=1") == 400


@pytest.mark.parametrize("query", ["limit=\u00b2", "limit=\u0661\u0660", "after=\u00b2:x", "after=\u0663:in-1"],
                         ids=["limit-superscript", "limit-arabic-indic", "after-superscript", "after-arabic-indic"])
def test_staff_notifications_refuse_digits_that_are_not_ascii(shared_client, query):
    r = shared_client.get(f"/v1/staff/notifications?{query}", headers=SENDER)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == query.split("=")[0]


def _json_post(client, settings, query: str, *, body_hash: bool):
    body = json.dumps(TWILIO_JSON).encode()
    if body_hash:
        query = f"{query}&bodySHA256={hashlib.sha256(body).hexdigest()}" if query else \
            f"bodySHA256={hashlib.sha256(body).hexdigest()}"
    path = "/webhooks/twilio/status" + (f"?{query}" if query else "")
    url = f"{settings.gateway.public_url}{path}"
    signature = RequestValidator(str(settings.twilio.auth_token)).compute_signature(url, {})
    return client.post(path, content=body, headers={"X-Twilio-Signature": signature,
                                                    "Content-Type": "application/json"})


@pytest.mark.parametrize("query", ["", "org=demo-clinic"], ids=["no-query", "org-only"])
def test_a_json_twilio_webhook_without_body_hash_is_refused_not_a_500(shared_client, shared_settings, query):
    r = _json_post(shared_client, shared_settings, query, body_hash=False)
    assert r.status_code == 403, r.text
    assert r.json()["error"]["code"] == "bad_signature"


def test_a_json_twilio_webhook_with_its_body_hash_is_taken(shared_client, shared_settings):
    r = _json_post(shared_client, shared_settings, "org=demo-clinic", body_hash=True)
    assert r.status_code == 200, r.text
