"""Bird's webhook signature: `messagebird-signature` is base64(HMAC-SHA256(signing key, timestamp + "\n" +
the URL Bird called + "\n" + SHA-256 digest of the raw body)), the timestamp being the
`messagebird-request-timestamp` header. Checked in constant time."""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

HEADER = "messagebird-signature"
TIMESTAMP_HEADER = "messagebird-request-timestamp"


def _digest(signing_key: bytes, timestamp: str, url: str, raw_body: bytes) -> bytes:
    payload = timestamp.encode() + b"\n" + url.encode() + b"\n" + hashlib.sha256(raw_body).digest()
    return hmac.new(signing_key, payload, hashlib.sha256).digest()


def verify_signature(signing_key: bytes, timestamp: str | None, url: str, raw_body: bytes,
                     header: str | None) -> bool:
    if not signing_key or not timestamp or not header:
        return False
    try:
        received = base64.b64decode(header.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    return hmac.compare_digest(_digest(signing_key, timestamp, url, raw_body), received)


def sign(signing_key: bytes, timestamp: str, url: str, raw_body: bytes) -> str:
    """The header value Bird would send (the simulator and tests sign with it)."""
    return base64.b64encode(_digest(signing_key, timestamp, url, raw_body)).decode()
