"""Console sessions and CSRF tokens, as pure functions over a signing key and a clock reading.

A session is a signed cookie (itsdangerous, HMAC-SHA256 over a JSON payload): id, organization,
username, when it began and when it was last used. Nothing is stored per session; the cookie is
re-signed on every page with a fresh `seen_at`. It ends after `idle_ms` without a request, after
`max_ms` in any case, and at sign-out (the sign-in view remembers ended ids, gateway.console.lockout).
The account is looked up on every request, so a disabled or deleted account or a changed role takes
effect at once.

CSRF: a form's token is an HMAC of the session id (before sign-in: of a random nonce held in its own
signed cookie), compared in constant time; SameSite=Strict cookies are the first line, this the second.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer

COOKIE = "carelay_console"
SIGNIN_COOKIE = "carelay_console_signin"
PATH = "/console"
IDLE, EXPIRED = "idle", "expired"


@dataclass(frozen=True)
class Session:
    session_id: str
    organization_id: str
    username: str
    issued_at: int  # epoch millis
    seen_at: int

    @classmethod
    def begin(cls, organization_id: str, username: str, now_ms: int) -> Session:
        return cls(secrets.token_urlsafe(18), organization_id, username, now_ms, now_ms)

    def touched(self, now_ms: int) -> Session:
        return Session(self.session_id, self.organization_id, self.username, self.issued_at, now_ms)


def ended_by_time(s: Session, now_ms: int, idle_ms: int, max_ms: int) -> str | None:
    """IDLE or EXPIRED when the session is over by the clock, else None."""
    if now_ms - s.seen_at >= idle_ms:
        return IDLE
    if now_ms - s.issued_at >= max_ms:
        return EXPIRED
    return None


def time_left_ms(s: Session, now_ms: int, idle_ms: int, max_ms: int) -> int:
    """How long the session lasts without another request (0: over)."""
    return max(0, min(idle_ms - (now_ms - s.seen_at), max_ms - (now_ms - s.issued_at)))


def warn_before_ms(idle_ms: int) -> int:
    """How long before an idle log-off the page warns: a fifth of the idle time, 5 s to 2 min."""
    return min(120_000, max(5_000, idle_ms // 5))


class Signer:
    def __init__(self, key: bytes) -> None:
        self._key = hashlib.sha256(b"carelay.console.csrf|" + key).digest()
        self._sessions = URLSafeSerializer(key, salt="carelay.console.session")
        self._signin = URLSafeSerializer(key, salt="carelay.console.signin")

    def dumps(self, s: Session) -> str:
        return str(self._sessions.dumps([s.session_id, s.organization_id, s.username, s.issued_at, s.seen_at]))

    def loads(self, token: str | None) -> Session | None:
        """The session the cookie carries, or None when absent, forged or malformed."""
        if not token:
            return None
        try:
            raw: Any = self._sessions.loads(token)
        except BadSignature:
            return None
        if not (isinstance(raw, list) and len(raw) == 5 and all(isinstance(v, str) for v in raw[:3])
                and all(isinstance(v, int) for v in raw[3:])):
            return None
        return Session(*raw)

    def csrf(self, binding: str) -> str:
        return hmac.new(self._key, binding.encode("utf-8"), hashlib.sha256).hexdigest()

    def csrf_ok(self, binding: str, given: str | None) -> bool:
        return bool(given) and hmac.compare_digest(self.csrf(binding), str(given))

    # -- before sign-in: a nonce in its own cookie binds the sign-in form ------------------------
    def signin_nonce(self, token: str | None) -> str | None:
        if not token:
            return None
        try:
            raw = self._signin.loads(token)
        except BadSignature:
            return None
        return raw if isinstance(raw, str) else None

    def new_signin_nonce(self) -> tuple[str, str]:
        """(nonce, cookie value)."""
        nonce = secrets.token_urlsafe(18)
        return nonce, str(self._signin.dumps(nonce))


def signin_binding(nonce: str) -> str:
    return f"signin|{nonce}"


def session_binding(s: Session) -> str:
    return f"session|{s.session_id}"
