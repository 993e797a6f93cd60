"""The subscription body's checks, one row per rule (the routes themselves: tests/streams/webhooks)."""
from __future__ import annotations

import pytest

from gateway.errors import InvalidField, MalformedBody
from gateway.webhook_endpoints import parse_subscription, present

OK = {"url": "https://clinic.example/hooks", "event_types": ["message.status_changed", "inbound.received"]}


@pytest.mark.parametrize(("doc", "production", "field"), [
    pytest.param(OK, True, None, id="https-in-production"),
    pytest.param({**OK, "url": "http://clinic.example/hooks"}, False, None, id="http-outside-production"),
    pytest.param({**OK, "url": "http://clinic.example/hooks"}, True, "url", id="http-refused-in-production"),
    pytest.param({**OK, "url": "ftp://clinic.example"}, False, "url", id="not-http"),
    pytest.param({**OK, "url": "https://169.254.169.254/latest"}, True, "url", id="link-local-in-production"),
    pytest.param({**OK, "url": "https://10.0.0.5/hooks"}, True, "url", id="private-address-in-production"),
    pytest.param({**OK, "url": "https://[::1]/hooks"}, True, "url", id="loopback-v6-in-production"),
    pytest.param({**OK, "url": "https://localhost/hooks"}, True, "url", id="localhost-in-production"),
    pytest.param({**OK, "url": "http://127.0.0.1:9000/hooks"}, False, None, id="loopback-outside-production"),
    pytest.param({**OK, "url": "/hooks"}, False, "url", id="relative"),
    pytest.param({**OK, "url": "https://u:p@clinic.example"}, False, "url", id="credentials-in-url"),
    pytest.param({**OK, "url": "https://c.example/" + "x" * 2048}, False, "url", id="url-too-long"),
    pytest.param({"url": OK["url"]}, False, "event_types", id="no-event-types"),
    pytest.param({**OK, "event_types": []}, False, "event_types", id="empty-event-types"),
    pytest.param({**OK, "event_types": ["message.sent"]}, False, "event_types", id="unknown-event-type"),
    pytest.param({**OK, "status_changes": "some"}, False, "status_changes", id="status-changes-unknown"),
    pytest.param({**OK, "include_phi": "yes"}, False, "include_phi", id="phi-flag-not-boolean"),
])
def test_parse_subscription(doc, production, field):
    if field is None:
        parsed = parse_subscription(doc, production=production)
        assert parsed["status_changes"] == "final" and parsed["include_phi"] is False
        return
    with pytest.raises(InvalidField) as caught:
        parse_subscription(doc, production=production)
    assert caught.value.field == field


def test_a_body_that_is_not_an_object():
    with pytest.raises(MalformedBody):
        parse_subscription(["https://x"], production=False)


def test_present_never_shows_the_secret():
    rec = {"endpoint_id": "we_1", "url": OK["url"], "event_types": ["inbound.received"], "status_changes": "final",
           "include_phi": False, "created_at": 5, "secret": {"kid": "k"}, "organization_id": "o", "created_by": "k"}
    assert "secret" not in present(rec)
