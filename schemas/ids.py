"""Event and message ids as the strings the contracts carry: RFC 4122 UUIDs, version 5 or 4.

`str(uuid.uuid5(...))` builds a UUID object, validates it, and formats it again: about 3.5 µs, and
the gateway and the workers make one or more per record. These build the same string straight from
the digest (or the random bytes) in about 1 µs; `tests/schemas/test_ids.py` checks they equal the
standard library's for many names.
"""
from __future__ import annotations

import hashlib
import os
import uuid


def _format(raw: bytes, version: int) -> str:
    b = bytearray(raw[:16])
    b[6] = (b[6] & 0x0F) | (version << 4)
    b[8] = (b[8] & 0x3F) | 0x80  # the RFC 4122 variant
    x = b.hex()
    return f"{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"


def uuid5_str(namespace: uuid.UUID, name: str) -> str:
    """`str(uuid.uuid5(namespace, name))`."""
    return _format(hashlib.sha1(namespace.bytes + name.encode("utf-8"), usedforsecurity=False).digest(), 5)


def uuid4_str() -> str:
    """`str(uuid.uuid4())`."""
    return _format(os.urandom(16), 4)
