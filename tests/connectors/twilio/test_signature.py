"""The gateway's one-pass Twilio form signature check agrees with twilio-python's RequestValidator (pure)."""
from __future__ import annotations

import pytest
from twilio.request_validator import HMAC_SHA1, HMAC_SHA256, RequestValidator

from connectors.twilio.signature import form_signature, form_signature_valid
from gateway.body import parse_form

TOKEN = "12345"
# Twilio's documented example (security docs): this URL, these parameters, this token.
DOC_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
DOC_FORM = {"CallSid": ["CA1234567890ABCDE"], "Caller": ["+12349013030"], "Digits": ["1234"],
            "From": ["+12349013030"], "To": ["+18005551212"]}
DOC_SIGNATURE = "0/KCTR6DLpKmkAf8muzZqo1nDgQ="

# Repeated names, repeated values, blank values, non-ASCII: what the MultiDict path sorts and dedups.
RAW = b"Body=hola%20se%C3%B1or&To=%2B52155&Tag=b&Tag=a&Tag=b&Empty=&From=whatsapp%3A%2B1500"


def test_twilio_documented_vector():
    assert form_signature(TOKEN.encode(), HMAC_SHA1, DOC_URL, DOC_FORM) == DOC_SIGNATURE
    assert form_signature_valid(RequestValidator(TOKEN), DOC_URL, DOC_FORM, DOC_SIGNATURE, None)


@pytest.mark.parametrize("algorithm", [None, HMAC_SHA1, HMAC_SHA256])
@pytest.mark.parametrize("signed_url", ["https://gw.example/webhooks/twilio/status?org=o&message_id=m",
                                        "https://gw.example:443/webhooks/twilio/status?org=o&message_id=m"])
def test_agrees_with_request_validator(algorithm, signed_url):
    validator = RequestValidator(TOKEN)
    url = "https://gw.example/webhooks/twilio/status?org=o&message_id=m"
    form = parse_form(RAW)
    assert form["Tag"] == ["b", "a", "b"] and form["Empty"] == [""]
    signature = validator.compute_signature(signed_url, _multi(form), algorithm)
    # signed with or without the default port, as RequestValidator accepts both
    assert validator.validate(url, _multi(form), signature, algorithm)
    assert form_signature_valid(validator, url, form, signature, algorithm)
    assert not form_signature_valid(RequestValidator("other"), url, form, signature, algorithm)
    assert not form_signature_valid(validator, url + "&x=1", form, signature, algorithm)
    assert not form_signature_valid(validator, url, {**form, "Tag": ["a"]}, signature, algorithm)
    assert not form_signature_valid(validator, url, form, signature[:-2], algorithm)


def test_unknown_algorithm_is_refused():
    validator = RequestValidator(TOKEN)
    signature = validator.compute_signature(DOC_URL, _multi(DOC_FORM))
    assert not form_signature_valid(validator, DOC_URL, DOC_FORM, signature, "HMAC_MD5")


def test_non_ascii_signature_is_refused_not_raised():
    assert not form_signature_valid(RequestValidator(TOKEN), DOC_URL, DOC_FORM, "sé", None)


class _multi(dict):  # the MultiDict shape RequestValidator reads (getlist)
    def getlist(self, name):
        return self[name]
