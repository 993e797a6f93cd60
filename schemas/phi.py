"""Field-level sealing of PHI (AES-256-GCM over a rotating key ring) and recipient pseudonyms (HMAC).

A sealed field is the Avro record `io.carelay.Sealed` {kid, nonce, ct}. The field's name is the
GCM associated data, so a value sealed as "recipient" cannot be replayed as "text". Any
language can write one: AES-256-GCM, 12-byte random nonce, AAD = UTF-8 field name.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import re
from collections.abc import Iterable
from typing import TypedDict

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from schemas.errors import PhiError

E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
PSEUDONYM_HEX_CHARS = 32  # 128 bits: collision-free at any realistic patient count


class Sealed(TypedDict):
    kid: str
    nonce: bytes
    ct: bytes


class PhiCipher:
    """Seals with the newest key of the ring; opens with whichever key sealed the value."""

    def __init__(self, key_ring: Iterable[tuple[str, bytes]]) -> None:
        ring = list(key_ring)
        if not ring:
            raise PhiError("the PHI key ring is empty")
        for kid, key in ring:
            if len(key) != 32:
                raise PhiError(f"PHI key {kid!r} is not 32 bytes (AES-256)")
        self._keys = {kid: AESGCM(key) for kid, key in ring}
        self._active_kid = ring[-1][0]
        self._active = self._keys[self._active_kid]

    @property
    def active_kid(self) -> str:
        return self._active_kid

    def seal(self, field: str, plaintext: str) -> Sealed:
        nonce = os.urandom(12)
        ct = self._active.encrypt(nonce, plaintext.encode("utf-8"), field.encode("utf-8"))
        return {"kid": self._active_kid, "nonce": nonce, "ct": ct}

    def open(self, field: str, sealed: Sealed) -> str:
        aead = self._keys.get(sealed["kid"])
        if aead is None:
            raise PhiError(f"field {field!r} sealed with unknown key id {sealed['kid']!r}")
        try:
            return aead.decrypt(sealed["nonce"], sealed["ct"], field.encode("utf-8")).decode("utf-8")
        except InvalidTag as exc:
            raise PhiError(f"field {field!r} failed authentication (tampered, or sealed as another field)") from exc

    def seal_optional(self, field: str, plaintext: str | None) -> Sealed | None:
        return None if plaintext is None else self.seal(field, plaintext)

    def open_optional(self, field: str, sealed: Sealed | None) -> str | None:
        return None if sealed is None else self.open(field, sealed)


def is_e164(number: str) -> bool:
    return bool(E164.match(number))


def normalize_address(address: str) -> str:
    """Strip a provider's channel prefix (`whatsapp:+52...`) and Meta's missing plus sign."""
    _, _, bare = address.rpartition(":")
    bare = bare.strip()
    if bare and not bare.startswith("+"):
        bare = "+" + bare
    return bare


class Pseudonymizer:
    """recipient_id = hex(HMAC-SHA256(key, organization_id | E.164))[:32], stable per organization."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise PhiError("the pseudonym key must be at least 16 bytes")
        self._mac = hmac.new(key, digestmod=hashlib.sha256)

    def __call__(self, organization_id: str, e164: str) -> str:
        mac = self._mac.copy()
        mac.update(f"{organization_id}|{e164}".encode())
        return mac.hexdigest()[:PSEUDONYM_HEX_CHARS]
