"""Standard Webhooks signatures (https://www.standardwebhooks.com): sign and verify, pure.

The signed content is `<webhook-id>.<webhook-timestamp>.<body>`; the signature header is a space-separated
list of `v1,<base64 HMAC-SHA256>`, keyed with the base64 bytes after the secret's `whsec_` prefix.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Mapping

from schemas.errors import CarelayError

PREFIX = "whsec_"
SECRET_BYTES = 32
TOLERANCE_S = 5 * 60  # the spec's recommended window against replays


class SignatureError(CarelayError):
    """A webhook's signature headers are missing, malformed, too old or do not match its body."""


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def _key(secret: str) -> bytes:
    try:
        return base64.b64decode(secret.removeprefix(PREFIX), validate=True)
    except ValueError as exc:
        raise SignatureError("the secret is not whsec_ followed by base64") from exc


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header value for one body."""
    mac = hmac.new(_key(secret), f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode("ascii")


def headers(secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {"webhook-id": msg_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": signature(secret, msg_id, timestamp, body)}


def verify(secret: str, received: Mapping[str, str], body: bytes, now_s: int,
           tolerance_s: int = TOLERANCE_S) -> None:
    """Raise SignatureError unless one of the `v1` signatures matches and the timestamp is recent."""
    lower = {k.lower(): v for k, v in received.items()}
    msg_id, stamp, sigs = (lower.get(h) for h in ("webhook-id", "webhook-timestamp", "webhook-signature"))
    if not msg_id or not stamp or not sigs:
        raise SignatureError("missing webhook-id, webhook-timestamp or webhook-signature")
    try:
        ts = int(stamp)
    except ValueError as exc:
        raise SignatureError("webhook-timestamp is not an integer") from exc
    if abs(now_s - ts) > tolerance_s:
        raise SignatureError("webhook-timestamp is outside the tolerance")
    expected = signature(secret, msg_id, ts, body).encode()
    for candidate in sigs.split(" "):
        if candidate.startswith("v1,") and hmac.compare_digest(candidate.encode(), expected):
            return
    raise SignatureError("no matching v1 signature")
