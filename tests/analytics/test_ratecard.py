"""The WhatsApp rate card: checked before its values enter SQL, and priced by category in the engine."""
from __future__ import annotations

from typing import Any

import pytest

from analytics import ratecard

GOOD = {"currency": "USD", "micros": {"utility": 4000, "marketing": 25000, "service": 0}}


@pytest.mark.parametrize(("card", "field"), [
    ({"micros": {"utility": 1}}, "currency"),
    ({"currency": "usd", "micros": {"utility": 1}}, "currency"),
    ({"currency": "USD"}, "micros"),
    ({"currency": "USD", "micros": {}}, "micros"),
    ({"currency": "USD", "micros": {"utility') OR 1=1 --": 1}}, "micros.utility') OR 1=1 --"),
    ({"currency": "USD", "micros": {"utility": -1}}, "micros.utility"),
    ({"currency": "USD", "micros": {"utility": 0.004}}, "micros.utility"),
    ({"currency": "USD", "micros": {"utility": True}}, "micros.utility"),
], ids=["no-currency", "lowercase-currency", "no-micros", "empty-micros", "quoted-category", "negative-rate",
        "fractional-rate", "boolean-rate"])
def test_a_malformed_card_is_refused_naming_the_field(card: dict[str, Any], field: str):
    with pytest.raises(ratecard.RateCardError) as caught:
        ratecard.parse(card)
    assert caught.value.field == field


def test_a_good_card_is_sorted_by_category():
    assert ratecard.parse(GOOD) == ("USD", {"marketing": 25000, "service": 0, "utility": 4000})


def test_the_shipped_card_parses():
    currency, rates = ratecard.load()
    assert currency == "USD" and {"utility", "marketing", "authentication"} <= set(rates)


@pytest.mark.parametrize(("category", "micros"), [
    ("utility", 4000),
    ("marketing", 25000),
    ("service", 0),
    ("authentication", None),
    ("", None),
], ids=["utility", "marketing", "service-free", "not-on-the-card", "no-category"])
def test_the_expression_prices_a_category(category: str, micros: int | None):
    chdb = pytest.importorskip("chdb")
    _, rates = ratecard.parse(GOOD)
    sql = f"SELECT {ratecard.price_expression(repr(category), rates)}"
    assert chdb.query(sql, "CSV").bytes().decode().strip() == ("\\N" if micros is None else str(micros))
