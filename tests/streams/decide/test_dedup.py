from streams.decide.dedup import SeenId, Verdict, decide, fingerprint, remember, remember_for

HOUR = 3_600_000
WINDOW = 24 * HOUR


def test_first_sight_is_new_and_remembered() -> None:
    d = decide((), "org|k1", "m1", "fp", 1000, WINDOW)
    assert d.verdict is Verdict.NEW
    assert [e.message_id for e in d.entries] == ["m1"]


def test_same_message_again_is_a_replay() -> None:
    first = decide((), "org|k1", "m1", "fp", 0, WINDOW)
    assert decide(first.entries, "org|k1", "m1", "fp", HOUR, WINDOW).verdict is Verdict.REPLAY


def test_same_key_same_body_other_message_is_duplicate_of_the_first() -> None:
    first = decide((), "org|k1", "m1", "fp", 0, WINDOW)
    d = decide(first.entries, "org|k1", "m2", "fp", HOUR, WINDOW)
    assert (d.verdict, d.original_message_id) == (Verdict.DUPLICATE, "m1")


def test_same_key_different_body_is_a_conflict() -> None:
    first = decide((), "org|k1", "m1", "fp-a", 0, WINDOW)
    assert decide(first.entries, "org|k1", "m2", "fp-b", HOUR, WINDOW).verdict is Verdict.CONFLICT


def test_window_expiry_forgets_the_key() -> None:
    first = decide((), "org|k1", "m1", "fp", 0, WINDOW)
    later = decide(first.entries, "org|k1", "m2", "fp", WINDOW, WINDOW)
    assert later.verdict is Verdict.NEW
    assert [e.message_id for e in later.entries] == ["m2"]


def test_keys_are_per_organization() -> None:
    first = decide((), "org-a|k1", "m1", "fp", 0, WINDOW)
    assert decide(first.entries, "org-b|k1", "m2", "fp", 1, WINDOW).verdict is Verdict.NEW


def test_fingerprint_is_keyed_and_unambiguous() -> None:
    assert fingerprint(b"k" * 16, ["ab", "c"]) != fingerprint(b"k" * 16, ["a", "bc"])
    assert fingerprint(b"k" * 16, ["x"]) != fingerprint(b"j" * 16, ["x"])
    assert fingerprint(b"k" * 16, ["x"]) == fingerprint(b"k" * 16, ["x"])


def test_remember_is_bounded() -> None:
    seen: tuple[str, ...] = ()
    for i in range(5):
        dup, seen = remember(seen, f"e{i}", 3)
        assert not dup
    assert seen == ("e2", "e3", "e4")
    assert remember(seen, "e3", 3) == (True, seen)


def test_remember_for_keeps_ids_for_the_window_and_under_the_ceiling() -> None:
    seen: tuple[SeenId, ...] = ()
    for i in range(50):
        dup, seen = remember_for(seen, f"e{i}", i, 100)
        assert not dup
    assert remember_for(seen, "e0", 99, 100)[0]            # 49 others later, still within the window
    dup, pruned = remember_for(seen, "e0", 100, 100)        # e0 is 100 ms old: forgotten
    assert not dup and [s.event_id for s in pruned][:2] == ["e1", "e2"]
    assert [s.event_id for s in remember_for(seen, "x", 0, 100, ceiling=3)[1]] == ["e48", "e49", "x"]
