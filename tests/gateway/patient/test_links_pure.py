"""The patient page's link rules as tables: the token, who it opens for, the guess limit, the language."""
from __future__ import annotations

import pytest

from gateway.patient import links
from gateway.patient.links import Access, Guesses, Link
from gateway.patient.words import LANGUAGES, WORDS, choose

KEY = b"k" * 32
OTHER_KEY = b"o" * 32
LINK_ID = "00112233445566778899aabbccddeeff"
TOKEN = links.token_for(KEY, LINK_ID)
NOW = 1_800_000_000_000
DEVICE = links.device_hash("cookie-a")


def test_the_token_is_opaque_and_fixed_for_a_key_and_id() -> None:
    assert len(TOKEN) == links.TOKEN_CHARS and LINK_ID not in TOKEN
    assert links.token_for(KEY, LINK_ID) == TOKEN
    assert links.link_id_of(KEY, TOKEN) == LINK_ID


def _flip(token: str, at: int) -> str:
    return token[:at] + ("A" if token[at] != "A" else "B") + token[at + 1:]


@pytest.mark.parametrize("token", [
    pytest.param(links.token_for(OTHER_KEY, LINK_ID), id="another-key"),
    pytest.param(_flip(TOKEN, 0), id="id-changed"),
    pytest.param(_flip(TOKEN, 40), id="mac-changed"),
    pytest.param(TOKEN[:-1], id="too-short"),
    pytest.param(TOKEN + "A", id="too-long"),
    pytest.param("é" * links.TOKEN_CHARS, id="not-ascii"),
    pytest.param("!" * links.TOKEN_CHARS, id="not-base64url"),
    pytest.param(TOKEN[:-1] + chr(ord(TOKEN[-1]) ^ 1), id="last-character-another-spelling-or-mac"),
    pytest.param("", id="empty"),
])
def test_a_token_the_key_did_not_sign_names_no_link(token: str) -> None:
    assert links.link_id_of(KEY, token) is None


def link(expires: int = NOW + 1000, device: str | None = DEVICE) -> Link:
    return Link(LINK_ID, "clinic", "rid", "es", expires, device)


@pytest.mark.parametrize(("link_id", "held", "device", "verdict"), [
    pytest.param(None, link(), DEVICE, Access.FORGED, id="forged"),
    pytest.param(LINK_ID, None, DEVICE, Access.UNKNOWN, id="unknown-or-revoked"),
    pytest.param(LINK_ID, link(expires=NOW), DEVICE, Access.EXPIRED, id="expired-at-the-instant"),
    pytest.param(LINK_ID, link(expires=NOW - 1, device=None), None, Access.EXPIRED, id="expired-before-first-use"),
    pytest.param(LINK_ID, link(device=None), None, Access.BIND, id="first-use-binds"),
    pytest.param(LINK_ID, link(device=None), DEVICE, Access.BIND, id="first-use-with-a-cookie-binds-it"),
    pytest.param(LINK_ID, link(), DEVICE, Access.OPEN, id="bound-device"),
    pytest.param(LINK_ID, link(), links.device_hash("cookie-b"), Access.OTHER_DEVICE, id="another-device"),
    pytest.param(LINK_ID, link(), None, Access.OTHER_DEVICE, id="no-cookie-once-bound"),
])
def test_access(link_id: str | None, held: Link | None, device: str | None, verdict: Access) -> None:
    assert links.access(link_id, held, NOW, device) is verdict


@pytest.mark.parametrize(("misses", "at", "blocked"), [
    pytest.param([], 0.0, False, id="nothing-yet"),
    pytest.param([0.0] * 2, 1.0, False, id="under-budget"),
    pytest.param([0.0] * 3, 1.0, True, id="at-budget-blocked"),
    pytest.param([0.0] * 3, 59.9, True, id="still-in-window"),
    pytest.param([0.0] * 3, 60.0, False, id="window-over"),
    pytest.param([0.0, 0.0, 61.0], 62.0, False, id="a-miss-after-the-window-starts-a-new-one"),
])
def test_guesses_per_address(misses: list[float], at: float, blocked: bool) -> None:
    g = Guesses(3)
    for t in misses:
        g.miss("203.0.113.9", t)
    assert (g.blocked("203.0.113.9", at) is not None) is blocked
    assert g.blocked("198.51.100.1", at) is None  # another address has its own budget


def test_guesses_memory_is_bounded() -> None:
    g = Guesses(1, max_sources=2)
    for i in range(5):
        g.miss(f"a{i}", 0.0)
    assert len(g._windows) == 2 and g.blocked("a4", 0.0) is not None


@pytest.mark.parametrize(("asked", "remembered", "link_language", "chosen"), [
    pytest.param(None, None, "pt", "pt", id="the-patients-language"),
    pytest.param(None, "en", "pt", "en", id="picked-before"),
    pytest.param("es", "en", "pt", "es", id="picked-now"),
    pytest.param("fr", None, "en", "en", id="unknown-pick-ignored"),
    pytest.param(None, None, "de", "es", id="nothing-known-spanish"),
])
def test_language(asked: str | None, remembered: str | None, link_language: str | None, chosen: str) -> None:
    assert choose(asked, remembered, link_language) == chosen


@pytest.mark.parametrize("key", sorted(WORDS))
def test_every_message_is_in_every_language(key: str) -> None:
    assert set(WORDS[key]) == set(LANGUAGES) and all(WORDS[key].values())


def test_csrf_is_bound_to_link_and_device() -> None:
    good = links.csrf_for(KEY, LINK_ID, DEVICE)
    assert links.csrf_ok(KEY, LINK_ID, DEVICE, good)
    assert not links.csrf_ok(KEY, LINK_ID, links.device_hash("x"), good)
    assert not links.csrf_ok(KEY, "ff" * 16, DEVICE, good)
    assert not links.csrf_ok(KEY, LINK_ID, DEVICE, None)
