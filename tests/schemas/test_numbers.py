"""The one canonical form of a phone number (schemas.numbers): one row per named case."""
from __future__ import annotations

import pytest

from schemas.numbers import REASONS, NumberRefused, canonical_number, patient_number
from schemas.phi import Pseudonymizer

CANONICAL = [
    ("e164", "+525512345678", "+525512345678"),
    ("mx-old-mobile-521", "+5215512345678", "+525512345678"),
    ("mx-521-spaced", "+52 1 55 1234 5678", "+525512345678"),
    ("us", "+16505551234", "+16505551234"),
    ("us-formatted", "+1 (650) 555-1234", "+16505551234"),
    ("dots", "+1.650.555.1234", "+16505551234"),
    ("brazil-mobile", "+5511987654321", "+5511987654321"),
    ("spain-mobile", "+34612345678", "+34612345678"),
    ("twilio-test-number", "+15005550006", "+15005550006"),
]

REFUSED = [
    ("not-a-string", 5215512345678, "not_a_string"),
    ("none", None, "not_a_string"),
    ("empty", "", "length"),
    ("too-long", "+1" + "6" * 40, "length"),
    ("trailing-newline", "+16505551234\n", "characters"),
    ("leading-newline", "\n+16505551234", "characters"),
    ("tab", "+1650\t5551234", "characters"),
    ("nul", "+16505551234\x00", "characters"),
    ("extension", "+16505551234 ext. 5", "characters"),
    ("letters", "+1 800 FLOWERS", "characters"),
    ("arabic-indic-digits", "+\u0661\u0666\u0665\u0660\u0665\u0665\u0665\u0661\u0662\u0663\u0664", "characters"),
    ("fullwidth-digits", "+\uff11\uff16\uff15\uff10\uff15\uff15\uff15\uff11\uff12\uff13\uff14", "characters"),
    ("non-breaking-space", "+1\u00a0650 555 1234", "characters"),
    ("national-form", "5512345678", "not_international"),
    ("two-plus", "+1+6505551234", "not_international"),
    ("plus-only", "+", "unparsable"),
    ("eight-digits", "+12345678", "invalid"),
    ("fictional-555-area", "+15551234567", "invalid"),
    ("mx-521-too-short", "+521551234567", "invalid"),
    ("unknown-country-code", "+99912345678", "unparsable"),
]


@pytest.mark.parametrize(("raw", "expected"), [r[1:] for r in CANONICAL], ids=[r[0] for r in CANONICAL])
def test_canonical_number(raw, expected):
    assert canonical_number(raw) == expected


@pytest.mark.parametrize(("raw", "reason"), [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED])
def test_refused_with_a_reason_that_quotes_no_value(raw, reason):
    with pytest.raises(NumberRefused) as info:
        canonical_number(raw)
    assert info.value.reason == reason and str(info.value) == REASONS[reason]
    assert "1234" not in str(info.value)


def test_one_patient_one_pseudonym_whatever_the_spelling():
    pseudonym = Pseudonymizer(b"k" * 32)
    spellings = ["+525512345678", "+5215512345678", "+52 55 1234 5678", "whatsapp:+5215512345678",
                 "5215512345678", "whatsapp:+525512345678"]
    ids = {pseudonym("org-a", str(patient_number(s))) for s in spellings}
    assert len(ids) == 1


def test_a_number_seen_again_is_answered_without_parsing_it_again(monkeypatch):
    import phonenumbers

    calls = []
    parse = phonenumbers.parse
    monkeypatch.setattr(phonenumbers, "parse", lambda *a: calls.append(a) or parse(*a))
    for _ in range(3):
        assert canonical_number("+52 1 55 9876 5432") == "+525598765432"
        with pytest.raises(NumberRefused):
            canonical_number("+1 555 987 6543")
    assert len(calls) == 2
