"""X-Hub-Signature-256: 'sha256=' + hex HMAC-SHA256(app secret, raw body), checked in constant time."""
from __future__ import annotations

import hashlib
import hmac

HEADER = "X-Hub-Signature-256"


def verify_signature(app_secret: bytes, raw_body: bytes, header: str | None) -> bool:
    """The header holds for `raw_body` under `app_secret` (constant-time compare)."""
    if not header or not app_secret:
        return False
    scheme, _, received = header.strip().partition("=")
    if scheme.lower() != "sha256" or not received:
        return False
    expected = hmac.new(app_secret, raw_body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), received.strip().lower().encode())


def sign(app_secret: bytes, raw_body: bytes) -> str:
    """The header value Meta would send for `raw_body` (the simulator and tests sign with it)."""
    return "sha256=" + hmac.new(app_secret, raw_body, hashlib.sha256).hexdigest()
