"""X-Twilio-Signature of a form webhook, checked in one pass over the already-parsed form.

The scheme is twilio-python's RequestValidator's (the simulator and the tests sign with it):
base64(HMAC(token, URL + every parameter name in sorted order, each followed by its sorted distinct
values)), over the URL as called and, failing that, the URL with the default port added or removed.
What differs is the cost on the busy webhook path: RequestValidator computes both URL variants
every time, re-parses the query, and reads a MultiDict value list per name by scanning every field
(quadratic in the form's size); here the form is grouped once by the caller, the keyed hash is set
up once per token, and the second URL variant is only tried when the first fails.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from functools import lru_cache
from urllib.parse import urlparse

from twilio.request_validator import HMAC_SHA1, HMAC_SHA256, RequestValidator, add_port, remove_port

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
