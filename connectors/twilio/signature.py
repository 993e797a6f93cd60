"""X-Twilio-Signature, checked the way twilio-python's RequestValidator does, in constant time.

The scheme is RequestValidator's (the simulator and the tests sign with it): for a form post,
base64(HMAC(token, URL + every parameter name in sorted order, each followed by its sorted distinct
values)), over the URL as called and, failing that, the URL with the default port added or removed;
for a JSON post, the URL carries the body's hash (`bodySHA256`) and RequestValidator checks both.
What differs on the busy form path: RequestValidator computes both URL variants every time,
re-parses the query, and reads a MultiDict value list per name by scanning every field (quadratic
in the form's size); here the form is grouped once by the caller, the keyed hash is set up once
per token, and the second URL variant is only tried when the first fails.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from functools import lru_cache
from urllib.parse import parse_qsl, urlparse

from twilio.request_validator import (
    HMAC_SHA1,
    HMAC_SHA256,
    RequestValidator,
    add_port,
    get_signature_algorithm,
    remove_port,
)

HEADER = "x-twilio-signature"
SETTINGS_HEADER = "x-twilio-webhooks-signature-settings"  # names the algorithm (HMAC-SHA1 by default)
HASHES = {HMAC_SHA1: hashlib.sha1, HMAC_SHA256: hashlib.sha256}  # what RequestValidator accepts


@lru_cache(maxsize=8)
def _keyed(token: bytes, algorithm: str) -> hmac.HMAC:
    return hmac.new(token, digestmod=HASHES[algorithm])


def form_signature(token: bytes, algorithm: str, url: str, form: Mapping[str, Sequence[str]]) -> str:
    """The signature Twilio sends for `form` ({name: values}) posted to `url`."""
    parts = [url]
    for name in sorted(form):
        for value in sorted(set(form[name])):
            parts.append(name)
            parts.append(value)
    mac = _keyed(token, algorithm).copy()
    mac.update("".join(parts).encode("utf-8"))
    return base64.b64encode(mac.digest()).decode("ascii")


def form_signature_valid(validator: RequestValidator, url: str, form: Mapping[str, Sequence[str]],
                         signature: str, algorithm: str | None) -> bool:
    """RequestValidator.validate(url, form, signature, algorithm) for a form post, in constant time."""
    name = (algorithm or HMAC_SHA1).upper()
    if name not in HASHES:
        return bool(validator.validate(url, form, signature, algorithm))  # refuses it, and logs why
    given = signature.encode("utf-8")
    parsed = urlparse(url)
    for variant in (remove_port, add_port):
        expected = form_signature(validator.token, name, variant(parsed), form).encode("ascii")
        if hmac.compare_digest(expected, given):
            return True
    return False


def has_body_hash(query: str) -> bool:
    """A JSON webhook's URL names the body's hash (`bodySHA256`); one without it cannot be verified."""
    return any(name == "bodySHA256" and value for name, value in parse_qsl(query, keep_blank_values=True))


def signed_url(public_url: str, path: str, query: str) -> str:
    """The URL Twilio called and signed: our public base, the path, and the query as received."""
    return f"{public_url}{path}?{query}" if query else f"{public_url}{path}"


class SignatureValidator:
    """One account's checks: `valid_form` for form posts, `valid_json` for JSON posts."""

    def __init__(self, auth_token: str) -> None:
        self._validator = RequestValidator(auth_token)

    def valid_form(self, url: str, form: Mapping[str, Sequence[str]], signature: str | None,
                   settings_header: str | None) -> bool:
        if not signature:
            return False
        return form_signature_valid(self._validator, url, form, signature, get_signature_algorithm(settings_header))

    def valid_json(self, url: str, query: str, raw: bytes, signature: str | None, settings_header: str | None) -> bool:
        # signed over the URL (with bodySHA256 in its query) and the body's hash; without bodySHA256
        # there is no body hash to check (and RequestValidator would raise)
        if not signature or not has_body_hash(query):
            return False
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = ""
        return bool(self._validator.validate(url, text, signature, get_signature_algorithm(settings_header)))
