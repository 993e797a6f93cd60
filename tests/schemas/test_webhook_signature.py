"""Standard Webhooks signatures: the specification's test vector, and the reference library verifying ours."""
from __future__ import annotations

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from schemas import webhook_signature as sig

# the specification's own example (standard-webhooks/spec: "Signature scheme")
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MSG_ID, TS, BODY = "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}'
EXPECTED = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_the_specification_vector():
    assert sig.signature(SECRET, MSG_ID, TS, BODY) == EXPECTED


def test_the_reference_library_accepts_our_headers_and_a_new_secret():
    secret = sig.new_secret()
    assert secret.startswith("whsec_")
    import time
    now = int(time.time())
    headers = sig.headers(secret, "evt_1", now, b'{"type":"message.status_changed"}')
    assert Webhook(secret).verify(b'{"type":"message.status_changed"}', headers) == {"type": "message.status_changed"}
    with pytest.raises(WebhookVerificationError):
        Webhook(sig.new_secret()).verify(b'{"type":"message.status_changed"}', headers)


GOOD = {"webhook-id": MSG_ID, "webhook-timestamp": str(TS), "webhook-signature": EXPECTED}


@pytest.mark.parametrize(("headers", "body", "now", "ok"), [
    pytest.param(GOOD, BODY, TS, True, id="exact"),
    pytest.param({k.upper(): v for k, v in GOOD.items()}, BODY, TS, True, id="header-case-ignored"),
    pytest.param({**GOOD, "webhook-signature": "v1,bm9wZQ== " + EXPECTED}, BODY, TS, True, id="one-of-several"),
    pytest.param(GOOD, BODY, TS + 299, True, id="within-tolerance"),
    pytest.param(GOOD, BODY, TS + 301, False, id="too-old"),
    pytest.param(GOOD, BODY, TS - 301, False, id="too-far-ahead"),
    pytest.param(GOOD, BODY + b" ", TS, False, id="body-changed"),
    pytest.param({**GOOD, "webhook-id": "msg_other"}, BODY, TS, False, id="id-changed"),
    pytest.param({**GOOD, "webhook-signature": EXPECTED.replace("v1,", "v2,")}, BODY, TS, False, id="wrong-version"),
    pytest.param({**GOOD, "webhook-timestamp": "soon"}, BODY, TS, False, id="timestamp-not-a-number"),
    pytest.param({"webhook-id": MSG_ID}, BODY, TS, False, id="headers-missing"),
])
def test_verify(headers, body, now, ok):
    if ok:
        sig.verify(SECRET, headers, body, now)
    else:
        with pytest.raises(sig.SignatureError):
            sig.verify(SECRET, headers, body, now)


def test_a_secret_that_is_not_base64_is_refused():
    with pytest.raises(sig.SignatureError):
        sig.signature("whsec_not base64!", MSG_ID, TS, BODY)
