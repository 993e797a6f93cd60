"""Password hashing for console accounts: argon2id (argon2-cffi's RFC 9106 low-memory profile)."""
from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from schemas.errors import ConfigError

MIN_LENGTH = 12
MAX_LENGTH = 256

_hasher = PasswordHasher()


@cache
def _dummy() -> str:
    """Verified when the account does not exist, so an unknown name costs the time of a wrong password."""
    return _hasher.hash("carelay-console-no-such-account")


def check_new_password(password: str) -> None:
    """NIST SP 800-63B: length matters, composition rules do not."""
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise ConfigError(f"a console password has {MIN_LENGTH} to {MAX_LENGTH} characters")


def hash_password(password: str) -> str:
    check_new_password(password)
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """Constant work whether or not there is an account; never raises on a bad password or hash."""
    if len(password) > MAX_LENGTH:
        password = password[:MAX_LENGTH]
    try:
        return _hasher.verify(stored or _dummy(), password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
