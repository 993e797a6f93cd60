"""The patient page's link rules, pure: the opaque token, who a link opens for, and the guess limit.

A token is `base64url(link_id || HMAC-SHA256(key, link_id)[:16])`: 32 random-looking bytes, no PHI,
nothing a reader can change without the key. What it opens (organization, patient, expiry, device) is
a `patient.links` record; every way a link can fail answers the same, so a guesser learns nothing.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from enum import StrEnum

ID_BYTES = 16
MAC_BYTES = 16
TOKEN_CHARS = 43  # base64url of 32 bytes, unpadded
_TAG = b"carelay.patient-link.v1"
_CSRF_TAG = b"carelay.patient-csrf.v1"


def new_link_id() -> str:
    return secrets.token_hex(ID_BYTES)


def _mac(key: bytes, raw_id: bytes) -> bytes:
    return hmac.new(key, _TAG + raw_id, hashlib.sha256).digest()[:MAC_BYTES]


def token_for(key: bytes, link_id: str) -> str:
    raw = bytes.fromhex(link_id)
    return base64.urlsafe_b64encode(raw + _mac(key, raw)).rstrip(b"=").decode("ascii")


def link_id_of(key: bytes, token: str) -> str | None:
    """The link id a token names, or None when the key did not sign it (compared in constant time)."""
    if len(token) != TOKEN_CHARS or not token.isascii():
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=")
    except (binascii.Error, ValueError):
        return None
    if len(raw) != ID_BYTES + MAC_BYTES or base64.urlsafe_b64encode(raw).rstrip(b"=").decode() != token:
        return None  # another spelling of the same bytes is not the token we gave out
    link_id, mac = raw[:ID_BYTES], raw[ID_BYTES:]
    return link_id.hex() if hmac.compare_digest(mac, _mac(key, link_id)) else None


def device_hash(cookie: str) -> str:
    return hashlib.sha256(cookie.encode("utf-8")).hexdigest()


def new_device_cookie() -> str:
    return secrets.token_urlsafe(32)


def csrf_for(key: bytes, link_id: str, device: str) -> str:
    """A form's token: bound to the link and the device that opened it."""
    return hmac.new(key, _CSRF_TAG + link_id.encode() + b"|" + device.encode(), hashlib.sha256).hexdigest()


def csrf_ok(key: bytes, link_id: str, device: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(csrf_for(key, link_id, device), given)


@dataclass(frozen=True)
class Link:
    link_id: str
    organization_id: str
    recipient_id: str
    language: str
    expires_at_ms: int
    device: str | None  # sha256 of the bound device cookie


class Access(StrEnum):
    OPEN = "open"        # the bound device
    BIND = "bind"        # first use: bind this device, then open
    FORGED = "forged"    # not signed by our key
    UNKNOWN = "unknown"  # signed, but no record (never made, revoked, or gone with retention)
    EXPIRED = "expired"
    OTHER_DEVICE = "other_device"


def access(link_id: str | None, link: Link | None, now_ms: int, device: str | None) -> Access:
    """What a request with this token and device cookie (its sha256) may do. Every refusal is
    answered alike; the reason is for the audit trail only."""
    if link_id is None:
        return Access.FORGED
    if link is None:
        return Access.UNKNOWN
    if now_ms >= link.expires_at_ms:
        return Access.EXPIRED
    if link.device is None:
        return Access.BIND
    if device is not None and hmac.compare_digest(link.device, device):
        return Access.OPEN
    return Access.OTHER_DEVICE


class Guesses:
    """At most `per_window` links that open nothing per source address per fixed window (starting at
    its first miss); an address over its budget is refused every link until the window ends. Pure:
    time is passed in. Memory is bounded: past `max_sources`, the oldest windows are forgotten."""

    def __init__(self, per_window: int, window_s: float = 60.0, max_sources: int = 100_000) -> None:
        self.per_window = per_window
        self.window_s = window_s
        self.max_sources = max_sources
        self._windows: dict[str, tuple[float, int]] = {}  # source -> (window start, misses), oldest first

    def blocked(self, source: str, now: float) -> float | None:
        """Seconds until `source` may try again, or None."""
        held = self._windows.get(source)
        if held is None or now >= held[0] + self.window_s or held[1] < self.per_window:
            return None
        return held[0] + self.window_s - now

    def miss(self, source: str, now: float) -> None:
        held = self._windows.get(source)
        if held is None or now >= held[0] + self.window_s:
            self._windows.pop(source, None)
            while len(self._windows) >= self.max_sources:
                del self._windows[next(iter(self._windows))]
            self._windows[source] = (now, 1)
        else:
            self._windows[source] = (held[0], held[1] + 1)
