"""The message catalog is complete in Spanish, English and Portuguese; the language choice."""
from __future__ import annotations

import string

import pytest

from gateway.console import i18n


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def every_entry():
    yield from ((key, entry) for key, entry in i18n.MESSAGES.items())
    yield from ((f"status.{key}", entry) for key, entry in i18n.STATUSES.items())
    yield from ((f"appointment.{key}", entry) for key, entry in i18n.APPOINTMENT_WORDS.items())
    for reason, parts in i18n.REASONS.items():
        yield from ((f"{reason}.{part}", entry) for part, entry in parts.items())


@pytest.mark.parametrize(("key", "entry"), list(every_entry()), ids=lambda v: v if isinstance(v, str) else "")
def test_every_message_in_every_language_with_the_same_placeholders(key, entry):
    assert set(entry) == set(i18n.LANGUAGES), key
    assert all(entry[lang].strip() for lang in i18n.LANGUAGES), key
    assert len({frozenset(placeholders(entry[lang])) for lang in i18n.LANGUAGES}) == 1, key


def test_every_reason_says_what_happened_and_what_to_do():
    assert all(set(parts) == {"title", "what", "do"} for parts in i18n.REASONS.values())
    assert "other" in i18n.REASONS


@pytest.mark.parametrize(("query", "cookie", "header", "chosen"), [
    pytest.param(None, None, None, "en", id="nothing-english"),
    pytest.param(None, None, "es-MX,es;q=0.9,en;q=0.8", "es", id="browser-spanish"),
    pytest.param(None, None, "pt-BR", "pt", id="browser-portuguese"),
    pytest.param(None, None, "fr-FR, pt;q=0.5, es;q=0.7", "es", id="best-supported-by-weight"),
    pytest.param(None, None, "de, fr", "en", id="none-supported"),
    pytest.param(None, None, "es;q=abc", "en", id="malformed-weight"),
    pytest.param(None, "pt", "es", "pt", id="cookie-over-browser"),
    pytest.param("en", "pt", "es", "en", id="switch-over-cookie"),
    pytest.param("xx", None, "es", "es", id="unknown-switch-ignored"),
])
def test_language_choice(query, cookie, header, chosen):
    assert i18n.choose(query, cookie, header) == chosen


def test_words_fill_placeholders_and_unknown_reasons_are_shown():
    t = i18n.Words("pt")
    assert t("state_assigned", who="ana") == "Atribuído a ana"
    assert "brand_new_reason" in t.reason("brand_new_reason", "what")
