"""The clinic's WhatsApp rate card, declared once (analytics/whatsapp_rates.json), as a SQL expression.

Meta's status webhooks carry `pricing` {billable, pricing_model, category} but no amount, so the cost
query prices a delivered WhatsApp message that reports no price by its category from this card: an
estimate, not Meta's invoice. A category the card does not list has no price (the message is left out).
"""
from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

CARD = Path(__file__).with_name("whatsapp_rates.json")
_CATEGORY = re.compile(r"[a-z_]{1,40}")
_CURRENCY = re.compile(r"[A-Z]{3}")


class RateCardError(ValueError):
    """The rate card is malformed; `field` names the offending entry."""

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(f"{field}: {detail}")
        self.field = field


def parse(card: Mapping[str, Any]) -> tuple[str, dict[str, int]]:
    """(currency, micros per category), checked: the values end up inside SQL text."""
    currency = card.get("currency")
    if not isinstance(currency, str) or not _CURRENCY.fullmatch(currency):
        raise RateCardError("currency", "an ISO 4217 code such as USD")
    micros = card.get("micros")
    if not isinstance(micros, Mapping) or not micros:
        raise RateCardError("micros", "a non-empty object of category: millionths of the currency")
    rates: dict[str, int] = {}
    for category, value in sorted(micros.items()):
        if not isinstance(category, str) or not _CATEGORY.fullmatch(category):
            raise RateCardError(f"micros.{category}", "a lowercase Meta pricing category")
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise RateCardError(f"micros.{category}", "a whole number of millionths, 0 or more")
        rates[category] = value
    return currency, rates


def price_expression(category_sql: str, rates: Mapping[str, int]) -> str:
    """Int64 millionths for the category in `category_sql`; NULL for a category the card does not list."""
    names = ", ".join(f"'{c}'" for c in rates)
    values = ", ".join(str(v) for v in rates.values())
    return (f"if({category_sql} IN ({names}), "
            f"transform({category_sql}, [{names}], CAST([{values}], 'Array(Int64)'), toInt64(0)), NULL)")


def load(path: Path = CARD) -> tuple[str, dict[str, int]]:
    return parse(json.loads(path.read_text()))
