"""Fuzz: whatever text the SQL guard accepts, the embedded engine runs as exactly one statement.

Texts are built from the pieces where tokenizers disagree (comments, nested comments, `#`, `$$`,
quotes, backslashes, `;`) around `SELECT 1` and a second statement `SELECT 2`. The oracle is the
engine itself: each accepted text is run exactly as written (chdb's own connection, which splits and
runs every statement of a text) on a fresh read-only handle, where a second statement would show as
a second row or as rows left over for the next query. The checked form, which is what the service
runs, must give the same answer (or fail alike).
"""
from __future__ import annotations

import os
from collections.abc import Iterator

import chdb
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from analytics.exceptions import QueryRejected
from analytics.http import engine_formatter
from analytics.sqlguard import Formatter, check_select
from analytics.store import QueryLimits, ReadSession, open_client
from schemas.settings import ClickHouseSettings

PIECES = [" ", "\n", ";", "/*", "*/", "'", '"', "`", "\\", "--", "#", "# ", "#!", "$$", "$a$", "--'",
          "SELECT 2", "1", "x", "AS", ",", "(", ")", "''"]
LIMITS = QueryLimits(5, 100)


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Formatter, ClickHouseSettings]]:
    ch = ClickHouseSettings(path=str(tmp_path_factory.mktemp("fuzz") / "chdb"))
    writer = open_client(ch)
    parser = ReadSession(lambda: open_client(ch, limits=LIMITS))
    yield engine_formatter(parser), ch
    parser.close()
    writer.close()


def run_as_written(ch: ClickHouseSettings, sql: str) -> bytes | None:
    """The engine's answer to `sql` (TSV; None when it fails) on a fresh handle, after checking that
    the call left nothing behind for the next query (the rows of statements run before a failure)."""
    handle = chdb.connect(os.path.realpath(ch.path) + "?readonly=1")
    try:
        try:
            answer: bytes | None = bytes(handle.query(sql, "TSV").bytes())
        except chdb.ChdbError:  # a statement that fails (an unknown name, ...) is still one statement
            answer = None
        assert handle.query("SELECT 42", "TSV").bytes() == b"42\n", f"{sql!r} left rows for the next query"
        return answer
    finally:
        handle.close()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(PIECES), max_size=10))
@example(["/*", " ", "/*", " ", "*/", " ", "'", " ", "*/", " ", ";", " ", "SELECT 2", " ", "--'"])
@example([" ", "# ", "'", "\n", ";", "SELECT 2", "--'"])
@example([" ", "$$", "'", "$$", ";", "SELECT 2", "--'"])
@example([";", "SELECT 2"])
def test_an_accepted_text_runs_as_one_statement(engine: tuple[Formatter, ClickHouseSettings], tail: list[str]) -> None:
    canonical, ch = engine
    sql = "SELECT 1 " + "".join(tail)
    try:
        statement = check_select(sql, canonical)
    except QueryRejected:
        return
    answer = run_as_written(ch, sql)
    assert answer is None or answer.count(b"\n") == 1, f"{sql!r} ran as more than one statement: {answer!r}"
    assert run_as_written(ch, statement) == answer, f"{sql!r} and its checked form {statement!r} differ"
