"""How each kind of setting reads its text, as a table: the value, or the ConfigError naming the variable."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from starlette.datastructures import Secret

from schemas.errors import ConfigError
from schemas.settings.declare import (
    FLAG,
    NAMES,
    OPTIONAL_SECRET,
    PATH,
    POSITIVE,
    POSITIVE_COUNT,
    SECRET,
    TEXT,
    UPPER,
    URL,
    Kind,
    integer,
)

KINDS = [
    # (kind, text) -> value, or the error after "V: "
    pytest.param(TEXT, " as is ", " as is ", id="text-kept-as-is"),
    pytest.param(URL, "http://h:1/x/", "http://h:1/x", id="url-trailing-slash-dropped"),
    pytest.param(PATH, "var/data", Path("var/data"), id="path"),
    pytest.param(UPPER, "info", "INFO", id="upper"),
    pytest.param(integer(), "0", 0, id="integer-zero"),
    pytest.param(integer(1), "7", 7, id="integer-at-least-one"),
    pytest.param(integer(1), "0", "must be at least 1", id="integer-below-its-floor"),
    pytest.param(integer(), "-1", "must not be negative", id="integer-negative"),
    pytest.param(integer(), "1.5", "Config 'V' has value '1.5'. Not a valid int.", id="integer-not-whole"),
    pytest.param(integer(), "", "Config 'V' has value ''. Not a valid int.", id="integer-empty"),
    pytest.param(POSITIVE, "0.25", 0.25, id="positive-fraction"),
    pytest.param(POSITIVE, "0", "must be positive", id="positive-zero"),
    pytest.param(POSITIVE, "-3", "must be positive", id="positive-negative"),
    pytest.param(POSITIVE, "soon", "Config 'V' has value 'soon'. Not a valid float.", id="positive-not-a-number"),
    pytest.param(POSITIVE, "nan", "must be positive", id="positive-nan"),
    pytest.param(POSITIVE, "inf", "must be finite", id="positive-infinite"),
    pytest.param(POSITIVE_COUNT, "2.9", 2, id="count-whole-part"),
    pytest.param(POSITIVE_COUNT, "inf", "must be finite", id="count-infinite"),
    pytest.param(POSITIVE_COUNT, "nan", "must be positive", id="count-nan"),
    pytest.param(FLAG, "true", True, id="flag-true"),
    pytest.param(FLAG, "0", False, id="flag-zero"),
    pytest.param(FLAG, "yes", "Config 'V' has value 'yes'. Not a valid bool.", id="flag-other-word"),
    pytest.param(NAMES, " a, b ,,a ", frozenset({"a", "b"}), id="names-trimmed-deduplicated"),
    pytest.param(NAMES, "", frozenset(), id="names-empty"),
    pytest.param(SECRET, " ", "must not be empty (an empty key signs for anyone)", id="secret-blank"),
    pytest.param(OPTIONAL_SECRET, "", Secret(""), id="optional-secret-blank"),
]


@pytest.mark.parametrize(("kind", "text", "expected"), KINDS)
def test_kind(kind: Kind, text: str, expected: Any) -> None:
    is_error = isinstance(expected, str) and kind not in (TEXT, URL, UPPER)
    if is_error:
        with pytest.raises(ConfigError) as info:
            kind.parse("V", text)
        assert str(info.value) == f"V: {expected}"
        return
    value = kind.parse("V", text)
    if isinstance(expected, Secret):
        assert isinstance(value, Secret) and str(value) == str(expected)
    else:
        assert value == expected


def test_a_secret_never_shows_in_its_repr() -> None:
    value = SECRET.parse("V", "hunter2")
    assert str(value) == "hunter2" and "hunter2" not in repr(value)
