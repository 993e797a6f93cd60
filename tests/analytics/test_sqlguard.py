"""The analysts' SQL check: one SELECT/WITH statement, nothing that writes or changes the session."""
from __future__ import annotations

import pytest

from analytics.exceptions import QueryRejected
from analytics.sqlguard import check_select

ALLOWED = [
    ("SELECT 1", "SELECT 1"),
    ("  select count() from events FINAL ;  ", "select count() from events FINAL"),
    ("WITH x AS (SELECT 1) SELECT * FROM x", "WITH x AS (SELECT 1) SELECT * FROM x"),
    ("SELECT ';' AS s, `a;b` FROM t", "SELECT ';' AS s, `a;b` FROM t"),
    ("SELECT 'it''s', 'a\\'b' -- trailing ; comment", "SELECT 'it''s', 'a\\'b' -- trailing ; comment"),
    ("SELECT 1; -- done", "SELECT 1"),
    ("SELECT /* into */ name FROM system.columns", "SELECT /* into */ name FROM system.columns"),
    ("SELECT \"format\" FROM t", "SELECT \"format\" FROM t"),
]

REJECTED = [
    "",
    "   ;",
    "INSERT INTO events VALUES (1)",
    "DROP TABLE events",
    "SET readonly = 0",
    "SELECT 1; DROP TABLE events",
    "SELECT 1 ; SELECT 2",
    "SELECT * FROM events INTO OUTFILE '/tmp/x'",
    "SELECT 'outfile'",  # blunt by design
    "SELECT 1 FORMAT JSON",
    "SELECT 1 SETTINGS readonly = 0",
    "SELECT 1 # ; DROP TABLE t",  # '#' is not treated as a comment: the ';' is seen
    "SELECT /* /* */ 1 ; DROP TABLE t /* */",  # comments do not nest
    "SELECT 'unterminated",
    "SELECT 1 /* unterminated",
    "EXPLAIN SELECT 1",
    "SHOW TABLES",
    "SELECT " + "1," * 10_000 + "1",
]


@pytest.mark.parametrize(("sql", "cleaned"), ALLOWED)
def test_allowed(sql: str, cleaned: str) -> None:
    assert check_select(sql) == cleaned


@pytest.mark.parametrize("sql", REJECTED)
def test_rejected(sql: str) -> None:
    with pytest.raises(QueryRejected):
        check_select(sql)
