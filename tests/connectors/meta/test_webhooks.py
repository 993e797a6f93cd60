"""How a verified Cloud API webhook body splits into envelope items, and the subscription handshake (pure)."""
from __future__ import annotations

import pytest

from connectors.meta.webhooks import ROUTES, MetaWebhooks, items_of


def test_items_take_the_org_from_refs_or_the_directory():
    body = {"object": "whatsapp_business_account", "entry": [{"id": "waba", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp", "metadata": {"display_phone_number": "15550001111", "phone_number_id": "pn1"},
        "statuses": [{"id": "wamid.1", "status": "delivered", "recipient_id": "5215512345678",
                      "biz_opaque_callback_data": "org=clinic-a&message_id=m1&attempt_id=a1"}],
        "messages": [{"id": "wamid.2", "from": "5215599999999", "type": "text", "text": {"body": "SI"}}],
    }}]}]}
    items = items_of(body, lambda pnid: "clinic-b" if pnid == "pn1" else None)
    assert [i.kind for i in items] == ["status", "inbound"]
    status, inbound = items
    assert status.organization_id == "clinic-a" and status.query["message_id"] == "m1"
    assert status.patient == "+525512345678" and status.query["phone_number_id"] == "pn1"
    assert inbound.organization_id == "clinic-b" and inbound.patient == "+525599999999"
    assert items_of({"entry": "junk"}, lambda _: None) == []
    assert items_of([1, 2], lambda _: None) == []


class Query:
    def __init__(self, **params: str) -> None:
        self.params = params

    def param(self, name: str) -> str:
        return self.params.get(name, "")


HANDSHAKE = ROUTES[1]


@pytest.mark.parametrize(("params", "answer"), [
    ({"hub.mode": "subscribe", "hub.verify_token": "tok", "hub.challenge": "42"}, "42"),
    ({"hub.mode": "subscribe", "hub.verify_token": "tok", "hub.challenge": "x" * 2000}, "x" * 1024),
    ({"hub.mode": "subscribe", "hub.verify_token": "other", "hub.challenge": "42"}, None),
    ({"hub.mode": "unsubscribe", "hub.verify_token": "tok", "hub.challenge": "42"}, None),
    ({"hub.mode": "subscribe", "hub.verify_token": "tok"}, None),
], ids=["ours", "long-challenge-cut", "wrong-token", "wrong-mode", "no-challenge"])
def test_handshake_echoes_the_challenge_only_for_our_token(params, answer):
    assert HANDSHAKE.method == "GET"
    assert MetaWebhooks("secret", "tok").handshake(HANDSHAKE, Query(**params)) == answer  # type: ignore[arg-type]
