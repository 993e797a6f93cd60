"""split_webhook: one item per status / message, with the receiving number's metadata, no contacts."""
from __future__ import annotations

from connectors.meta.parse import split_webhook

BODY = {
    "object": "whatsapp_business_account",
    "entry": [{
        "id": "102290129340398",
        "changes": [
            {"field": "messages", "value": {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
                "contacts": [{"profile": {"name": "Sheena Nelson"}, "wa_id": "16505551234"}],
                "messages": [
                    {"from": "16505551234", "id": "wamid.A", "timestamp": "1749416383", "type": "text",
                     "text": {"body": "Does it come in another color?"}},
                    {"from": "16505551234", "id": "wamid.B", "timestamp": "1749416384", "type": "text",
                     "text": {"body": "?"}},
                ],
            }},
            {"field": "messages", "value": {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
                "statuses": [{"id": "wamid.C", "status": "delivered", "timestamp": "1750263773",
                              "recipient_id": "16505551234"}],
            }},
        ],
    }],
}


def test_split_one_item_each() -> None:
    items = split_webhook(BODY)
    assert [(kind, item["id"]) for kind, item, _ in items] == [
        ("message", "wamid.A"), ("message", "wamid.B"), ("status", "wamid.C"),
    ]
    for _, _, metadata in items:
        assert metadata == {"phone_number_id": "106540352242922", "display_phone_number": "15550783881",
                            "waba_id": "102290129340398", "field": "messages"}
    assert all("Sheena" not in str(item) for _, item, _ in items)


def test_unknown_shapes_yield_nothing() -> None:
    assert split_webhook({}) == []
    assert split_webhook({"entry": "x"}) == []
    assert split_webhook({"entry": [{"changes": [{"value": None}]}]}) == []
    assert split_webhook([]) == []  # type: ignore[arg-type]
