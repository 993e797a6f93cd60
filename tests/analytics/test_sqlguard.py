"""The analysts' SQL check: one SELECT/WITH statement as ClickHouse reads it, nothing that writes or
changes the session. The prefilter and the verdict are pure; `check_select` is tested on the engine."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from analytics.exceptions import QueryRejected
from analytics.http import engine_formatter
from analytics.sqlguard import Formatter, check_select, prefilter, verdict
from analytics.store import QueryLimits, ReadSession, open_client
from schemas.settings import ClickHouseSettings

PREFILTER_PASSES = [
    pytest.param("  select 1 ;  ", "select 1", id="trailing-semicolon-and-space"),
    pytest.param("SELECT 1; -- done", "SELECT 1", id="comment-after-semicolon"),
    pytest.param("SELECT ';' AS s, `a;b`, \"#$\" FROM t", "SELECT ';' AS s, `a;b`, \"#$\" FROM t",
                 id="semicolon-hash-dollar-in-literals"),
    pytest.param("SELECT 'it''s', 'a\\'b' -- trailing ; # $", "SELECT 'it''s', 'a\\'b' -- trailing ; # $",
                 id="escaped-quotes-and-line-comment"),
    pytest.param("SELECT /* into ; */ 1", "SELECT /* into ; */ 1", id="plain-block-comment"),
]

PREFILTER_REFUSES = [
    pytest.param("", id="empty"),
    pytest.param("   ;", id="only-semicolon"),
    pytest.param("SELECT 1 ; SELECT 2", id="two-statements"),
    pytest.param("SELECT 1 /* /* */ ' */ ; SELECT 2 --'", id="nested-comment"),
    pytest.param("SELECT 1 # ; SELECT 2", id="hash-comment"),
    pytest.param("SELECT 1 #'\n; SELECT 2 --'", id="hash-comment-hiding-a-quote"),
    pytest.param("SELECT $$'$$; SELECT 2 --'", id="dollar-string"),
    pytest.param("SELECT $a$ x $a$", id="tagged-dollar-string"),
    pytest.param("SELECT 'unterminated", id="unterminated-literal"),
    pytest.param("SELECT 1 /* unterminated", id="unterminated-comment"),
    pytest.param("SELECT " + "1," * 10_000 + "1", id="too-long"),
]


@pytest.mark.parametrize(("sql", "statement"), PREFILTER_PASSES)
def test_prefilter_passes_plain_text(sql: str, statement: str) -> None:
    assert prefilter(sql) == statement


@pytest.mark.parametrize("sql", PREFILTER_REFUSES)
def test_prefilter_refuses_what_could_be_read_two_ways(sql: str) -> None:
    with pytest.raises(QueryRejected):
        prefilter(sql)


# ClickHouse's canonical formatting (formatQuery), as the engine returns it
VERDICT_ALLOWS = [
    pytest.param("SELECT name\nFROM system.settings\nWHERE name = 'readonly'", id="system-settings-table"),
    pytest.param("SELECT\n    SETTINGS,\n    settings,\n    format\nFROM t\nORDER BY format DESC",
                 id="columns-named-like-clauses"),
    pytest.param("SELECT 1 AS FORMAT", id="alias-named-format"),
    pytest.param("WITH\n    x AS\n    (\n        SELECT 1\n    )\nSELECT *\nFROM x", id="with"),
    pytest.param("(\n    SELECT 1\n)\nUNION ALL\n(\n    SELECT 2\n)", id="bracketed-union"),
    pytest.param("SELECT a\nFROM t\nWHERE (x IN (\n    SELECT settings\n    FROM u\n)) AND (y = 'a\\nb')",
                 id="subquery"),
]

VERDICT_REFUSES = [
    pytest.param("INSERT INTO t FORMAT Values", id="insert"),
    pytest.param("SET readonly = 0", id="set"),
    pytest.param("EXPLAIN\nSELECT 1", id="explain"),
    pytest.param("SHOW TABLES", id="show"),
    pytest.param("SELECT *\nFROM t\nINTO OUTFILE 'x'", id="into-outfile"),
    pytest.param("SELECT 1\nFORMAT JSON", id="format"),
    pytest.param("SELECT 1\nSETTINGS readonly = 0", id="settings"),
    pytest.param("(\n    SELECT 1\n)\nUNION ALL\n(\n    SELECT 2\n)\nSETTINGS max_threads = 1", id="union-settings"),
    pytest.param("(\n    INSERT INTO t FORMAT Values\n)", id="bracketed-non-select"),
    pytest.param("SELECT 1\nPARALLEL WITH\nSELECT 2", id="parallel-with"),
    pytest.param("SELECT 1\nSOMETHING NEW", id="unknown-clause"),
]


@pytest.mark.parametrize("canonical", VERDICT_ALLOWS)
def test_verdict_allows_reads(canonical: str) -> None:
    assert verdict(canonical) == canonical


@pytest.mark.parametrize("canonical", VERDICT_REFUSES)
def test_verdict_refuses_other_statements_and_clauses(canonical: str) -> None:
    with pytest.raises(QueryRejected):
        verdict(canonical)


@pytest.fixture(scope="module")
def canonical(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Formatter]:
    ch = ClickHouseSettings(path=str(tmp_path_factory.mktemp("guard") / "chdb"))
    writer = open_client(ch)  # creates the database the read-only session opens
    parser = ReadSession(lambda: open_client(ch, limits=QueryLimits(5, 100)))
    yield engine_formatter(parser)
    parser.close()
    writer.close()


ENGINE_ALLOWS = [
    pytest.param("SELECT 1", "SELECT 1", id="select"),
    pytest.param("  select count() from events FINAL ;  ", "SELECT count()\nFROM events\nFINAL", id="final"),
    pytest.param("SELECT name, value FROM system.settings WHERE name = 'readonly'",
                 "SELECT\n    name,\n    value\nFROM system.settings\nWHERE name = 'readonly'", id="system-settings"),
    pytest.param("SELECT 'it''s', 'a\\'b' -- trailing ; comment", "SELECT\n    'it\\'s',\n    'a\\'b'", id="quotes"),
    pytest.param("SELECT count() FROM t WHERE organization_id = {org:String}",
                 "SELECT count()\nFROM t\nWHERE organization_id = {org:String}", id="bound-parameter"),
    pytest.param("SELECT /* into */ \"format\" FROM t", "SELECT format\nFROM t", id="comment-and-quoted-name"),
]

# Reads with every kind of top-level clause: the engine's reading of each must pass the verdict.
ENGINE_READS = [
    pytest.param("SELECT DISTINCT a FROM t FINAL SAMPLE 1/10 ARRAY JOIN arr AS x LEFT ARRAY JOIN b AS y PREWHERE a "
                 "WHERE b GROUP BY a WITH TOTALS HAVING c WINDOW w AS (ORDER BY a) QUALIFY 1 ORDER BY a DESC "
                 "LIMIT 1 BY a LIMIT 10 OFFSET 5", id="select-clauses"),
    pytest.param("SELECT * FROM a LEFT JOIN b ON a.x = b.x INNER JOIN c USING (x) CROSS JOIN d GLOBAL ANY LEFT JOIN e "
                 "ON 1 ASOF JOIN f ON a.t >= f.t LEFT SEMI JOIN g ON 1 RIGHT ANTI JOIN h ON 1 FULL OUTER JOIN i ON 1 "
                 "ALL INNER JOIN j USING x PASTE JOIN k", id="joins"),
    pytest.param("SELECT a FROM t ORDER BY a WITH FILL INTERPOLATE (b AS b + 1)", id="interpolate"),
    pytest.param("SELECT a FROM t ORDER BY a OFFSET 1 ROW FETCH FIRST 2 ROWS ONLY", id="fetch"),
    pytest.param("SELECT 1 EXCEPT SELECT 2", id="except"),
    pytest.param("SELECT 1 INTERSECT DISTINCT SELECT 1", id="intersect"),
    pytest.param("SELECT 1 UNION DISTINCT (SELECT 2)", id="union"),
    pytest.param("WITH RECURSIVE x AS (SELECT 1) SELECT * FROM x", id="recursive-with"),
    pytest.param("SELECT a FROM t WHERE a GLOBAL IN (SELECT 1) GROUP BY GROUPING SETS ((a), ())", id="grouping-sets"),
    pytest.param("SELECT * APPLY(sum) FROM t", id="apply"),
]


@pytest.mark.parametrize("sql", ENGINE_READS)
def test_check_select_allows_every_read_clause(canonical: Formatter, sql: str) -> None:
    assert check_select(sql, canonical)


ENGINE_REFUSES = [
    pytest.param("SELECT 1 PARALLEL WITH SELECT 2", id="parallel-with"),
    pytest.param("SELECT 1 /* /* */ ' */ ; SELECT 2 --'", id="nested-comment"),
    pytest.param("SELECT 1 #'\n; SELECT 2 --'", id="hash-comment"),
    pytest.param("SELECT $$'$$; SELECT 2 --'", id="dollar-string"),
    pytest.param("SELECT 1; DROP TABLE events", id="two-statements"),
    pytest.param("INSERT INTO events (event_id) VALUES ('x')", id="insert"),
    pytest.param("SELECT * FROM events INTO OUTFILE '/tmp/x'", id="into-outfile"),
    pytest.param("SELECT 1 FORMAT JSON", id="format"),
    pytest.param("SELECT 1 SETTINGS readonly = 0", id="settings"),
    pytest.param("SELECT 1 UNION ALL SELECT 2 SETTINGS max_threads = 1", id="union-settings"),
    pytest.param("EXPLAIN SELECT 1", id="explain"),
    pytest.param("SELECT FROM WHERE", id="syntax-error"),
]


@pytest.mark.parametrize(("sql", "statement"), ENGINE_ALLOWS)
def test_check_select_runs_the_engines_reading(canonical: Formatter, sql: str, statement: str) -> None:
    assert check_select(sql, canonical) == statement


@pytest.mark.parametrize("sql", ENGINE_REFUSES)
def test_check_select_refuses(canonical: Formatter, sql: str) -> None:
    with pytest.raises(QueryRejected):
        check_select(sql, canonical)


def test_an_unstable_reading_is_refused() -> None:
    def drifting(sql: str) -> str:
        return sql + " "

    with pytest.raises(QueryRejected, match="stable"):
        check_select("SELECT 1", drifting)

