"""The one canonical form of a patient's phone number, decided before anything pseudonymizes it.

A pseudonym is an HMAC of the number's text, so two spellings of one phone would be two patients:
consent (STOP), rate limits and conversation state would not follow the person. Every number that
enters (an API send, a FHIR telecom, a provider webhook) goes through `canonical_number`, which
answers libphonenumber's E.164 for a number its data knows as valid, or refuses with a reason.

Mexico: since 2019 a Mexican mobile is dialled +52 and ten digits, but WhatsApp still reports the
old mobile form `521` + ten digits (Meta's `wa_id`, Twilio's `whatsapp:+521...`). The old form is
mapped to the current one, so a reply reaches the patient a send to `+52...` created.

libphonenumber takes 100-200 µs to parse and validate one number, more than the rest of a callback's
own work; one message's number comes back with each of its status callbacks, so the answers for the
last `CACHED_NUMBERS` texts are kept (bounded memory, in this process only; refusals too).
"""
from __future__ import annotations

from functools import lru_cache

import phonenumbers

from schemas.errors import CarelayError
from schemas.phi import normalize_address

# Visual separators people and EHRs write; anything else (a newline, a tab, letters, "ext.",
# non-ASCII digits) is refused rather than silently dropped, so no two texts hide one number.
ALLOWED_CHARS = frozenset("0123456789+ -().")
MAX_CHARS = 40
MEXICO = 52
MEXICO_OLD_MOBILE = "1"  # the digit WhatsApp keeps between 52 and a mobile's ten digits
CACHED_NUMBERS = 4096  # texts whose answer is kept: about 1 MB

REASONS = {
    "not_a_string": "must be a string",
    "length": f"must be 1 to {MAX_CHARS} characters",
    "characters": "may hold only digits, a leading +, spaces, hyphens, dots and parentheses",
    "not_international": "must start with + and the country code (E.164)",
    "unparsable": "is not a phone number",
    "invalid": "is not a valid number for its country code (libphonenumber's data)",
}


class NumberRefused(CarelayError):
    """A text that is not a phone number carelay can address; `reason` is a key of REASONS."""

    def __init__(self, reason: str) -> None:
        super().__init__(REASONS[reason])
        self.reason = reason
        self.message = REASONS[reason]


def canonical_number(raw: object) -> str:
    """The E.164 form of `raw` (an international number), or NumberRefused naming why not."""
    if not isinstance(raw, str):
        raise NumberRefused("not_a_string")
    if not 1 <= len(raw) <= MAX_CHARS:  # before the cache: only short texts are kept
        raise NumberRefused("length")
    number, reason = _canonical(raw)
    if reason is not None:
        raise NumberRefused(reason)
    return number


@lru_cache(maxsize=CACHED_NUMBERS)
def _canonical(raw: str) -> tuple[str, str | None]:
    """(E.164, None) or ("", the refusal's reason): pure, so an answer can be kept."""
    if not ALLOWED_CHARS.issuperset(raw):
        return "", "characters"
    if not raw.startswith("+") or raw.count("+") != 1:
        return "", "not_international"
    try:
        number = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException:
        return "", "unparsable"
    number = _current_mexican_mobile(number)
    if not phonenumbers.is_valid_number(number):
        return "", "invalid"
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), None


def _current_mexican_mobile(number: phonenumbers.PhoneNumber) -> phonenumbers.PhoneNumber:
    national = str(number.national_number)
    if number.country_code != MEXICO or len(national) != 11 or not national.startswith(MEXICO_OLD_MOBILE):
        return number
    current = phonenumbers.PhoneNumber(country_code=MEXICO, national_number=int(national[1:]))
    return current if phonenumbers.is_valid_number(current) else number


def patient_number(address: str | None) -> str | None:
    """The canonical number of a party a provider reports (`whatsapp:+521...`, Meta's `wa_id` without
    the plus), or None when it is not one (a short code, a `client:` identity, an unknown number)."""
    if not address:
        return None
    try:
        return canonical_number(normalize_address(address))
    except NumberRefused:
        return None
