"""Session cookies and CSRF tokens: signed, bound, ended by idle time and by age."""
from __future__ import annotations

import pytest

from gateway.console import sessions
from gateway.console.sessions import EXPIRED, IDLE, Session, Signer

KEY = b"k" * 32
IDLE_MS, MAX_MS = 900_000, 12 * 3_600_000
T0 = 1_800_000_000_000


def test_a_session_survives_its_own_signature():
    signer = Signer(KEY)
    s = Session.begin("clinic-42", "alice", T0)
    assert signer.loads(signer.dumps(s)) == s


@pytest.mark.parametrize("token", [
    pytest.param(None, id="absent"),
    pytest.param("", id="empty"),
    pytest.param("not-a-token", id="garbage"),
    pytest.param(Signer(b"other-key-000000000000000000000").dumps(Session.begin("clinic-42", "alice", T0)),
                 id="signed-with-another-key"),
])
def test_a_forged_or_missing_cookie_is_no_session(token):
    assert Signer(KEY).loads(token) is None


def test_a_tampered_cookie_is_no_session():
    signer = Signer(KEY)
    token = signer.dumps(Session.begin("clinic-42", "alice", T0))
    payload, _, sig = token.rpartition(".")
    flipped = payload[:5] + ("A" if payload[5] != "A" else "B") + payload[6:]
    assert signer.loads(flipped + "." + sig) is None


@pytest.mark.parametrize(("seen_ago", "issued_ago", "ended"), [
    pytest.param(0, 0, None, id="fresh"),
    pytest.param(IDLE_MS - 1, IDLE_MS - 1, None, id="just-before-idle"),
    pytest.param(IDLE_MS, IDLE_MS, IDLE, id="idle-15-minutes"),
    pytest.param(60_000, MAX_MS - 1, None, id="active-long-shift"),
    pytest.param(60_000, MAX_MS, EXPIRED, id="past-the-maximum"),
])
def test_sessions_end_by_time(seen_ago, issued_ago, ended):
    s = Session("sid", "clinic-42", "alice", T0 - issued_ago, T0 - seen_ago)
    assert sessions.ended_by_time(s, T0, IDLE_MS, MAX_MS) == ended


def test_touching_restarts_the_idle_clock_only():
    s = Session("sid", "clinic-42", "alice", T0, T0).touched(T0 + 5)
    assert (s.issued_at, s.seen_at) == (T0, T0 + 5)


@pytest.mark.parametrize(("given", "ok"), [
    pytest.param("right", True, id="right"),
    pytest.param(None, False, id="missing"),
    pytest.param("", False, id="empty"),
    pytest.param("0" * 64, False, id="wrong"),
    pytest.param("other-session", False, id="another-sessions-token"),
])
def test_csrf_token_is_bound_to_its_session(given, ok):
    signer = Signer(KEY)
    s = Session("sid-1", "clinic-42", "alice", T0, T0)
    tokens = {"right": signer.csrf(sessions.session_binding(s)),
              "other-session": signer.csrf(sessions.session_binding(Session("sid-2", "clinic-42", "alice", T0, T0)))}
    assert signer.csrf_ok(sessions.session_binding(s), tokens.get(given or "", given)) is ok


def test_the_sign_in_form_token_is_bound_to_its_nonce_cookie():
    signer = Signer(KEY)
    nonce, cookie = signer.new_signin_nonce()
    assert signer.signin_nonce(cookie) == nonce
    assert signer.signin_nonce(cookie + "x") is None
    token = signer.csrf(sessions.signin_binding(nonce))
    assert signer.csrf_ok(sessions.signin_binding(nonce), token)
    assert not signer.csrf_ok(sessions.signin_binding("another"), token)
