"""The check that an analyst's SQL is one read-only SELECT (or WITH … SELECT) statement.

ClickHouse's own parser decides, not a guess at its grammar. The embedded engine runs every statement
of a multi-statement text, and a tokenizer of our own never agrees with ClickHouse's on every corner
(nested `/* */` comments, `#` comments, `$$` strings), so:

1. `prefilter`: a strict first pass refuses, outside plain quoted literals, `;` (except at the end),
   `#`, `$` and a `/*` inside a comment, so the text is simple before any engine sees it;
2. the engine's `formatQuery` (a bound parameter on a read-only session of its own: the text is
   parsed, never run) must accept it as exactly one statement and returns its canonical form;
3. `verdict` reads that canonical form, whose layout is the parse: each top-level clause starts a
   line at column 0, literals and identifiers are escaped onto one line, comments are gone. The first
   clause must be SELECT or WITH; INTO OUTFILE, FORMAT, SETTINGS and PARALLEL WITH are refused, and
   so is any clause a read does not have. A table or column named `settings` (`system.settings`) is
   an identifier, never a clause, and passes.

The canonical text is what runs, after checking that formatting it again changes nothing, so the
statement checked is the statement executed. The analysts' session is also `readonly=1` with
execution and result limits that the query cannot lift (`store.QueryLimits`).
"""
from __future__ import annotations

import re
from collections.abc import Callable

from analytics.exceptions import QueryRejected

MAX_SQL_CHARS = 20_000
_FIRST_WORDS = {"SELECT", "WITH"}
# Clauses of a SELECT that do more than read: INTO OUTFILE writes a file (the embedded engine honours
# it even when readonly), FORMAT changes the wire format the server decodes, SETTINGS tries to change
# the session (readonly refuses it too, but a clear message beats ClickHouse's), PARALLEL WITH joins
# several statements into one.
_FORBIDDEN_CLAUSES = {"INTO": "INTO OUTFILE", "FORMAT": "FORMAT", "SETTINGS": "SETTINGS", "PARALLEL": "PARALLEL WITH"}
# Every other top-level clause must be one a read can have; anything new to this list is refused
# rather than guessed at.
_READ_CLAUSES = frozenset({
    "SELECT", "WITH", "FROM", "FINAL", "SAMPLE", "ARRAY", "PREWHERE", "WHERE", "GROUP", "HAVING", "WINDOW",
    "QUALIFY", "ORDER", "INTERPOLATE", "LIMIT", "OFFSET", "FETCH", "UNION", "INTERSECT", "EXCEPT",
    # joins: `LEFT ARRAY JOIN`, `GLOBAL ANY LEFT JOIN`, `ASOF JOIN`, `PASTE JOIN`, ...
    "JOIN", "LEFT", "RIGHT", "INNER", "OUTER", "FULL", "CROSS", "GLOBAL", "LOCAL", "ALL", "ANY", "ASOF", "SEMI",
    "ANTI", "PASTE", "ON", "USING",
})
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

# The engine's parser: text in, canonical text out; raises QueryRejected when it is not one statement.
Formatter = Callable[[str], str]


def prefilter(sql: str) -> str:
    """The text without a trailing `;`, or QueryRejected for anything whose reading could differ."""
    if len(sql) > MAX_SQL_CHARS:
        raise QueryRejected(f"statement longer than {MAX_SQL_CHARS} characters")
    i, n, end = 0, len(sql), len(sql)
    while i < n:
        c = sql[i]
        if sql.startswith("--", i):
            newline = sql.find("\n", i)
            i = n if newline < 0 else newline + 1
        elif sql.startswith("/*", i):
            close = sql.find("*/", i + 2)
            if close < 0:
                raise QueryRejected("unterminated comment")
            if "/*" in sql[i + 2:close]:
                raise QueryRejected("nested comments are not allowed")
            i = close + 2
        elif c.isspace():
            i += 1
        elif end < n:  # only comments and spaces may follow the `;`
            raise QueryRejected("only one statement is allowed (`;` ends the statement)")
        elif c in "'`\"":
            i = _skip_quoted(sql, i, c)
        elif c == ";":
            end, i = i, i + 1
        elif c == "#":
            raise QueryRejected("`#` comments are not allowed (use `--`)")
        elif c == "$":
            raise QueryRejected("`$` quoting is not allowed (use '...' literals)")
        else:
            i += 1
    statement = sql[:end].strip()
    if not statement:
        raise QueryRejected("empty statement")
    return statement


def _skip_quoted(sql: str, start: int, quote: str) -> int:
    i = start + 1
    while i < len(sql):
        c = sql[i]
        if c == "\\":
            i += 2
        elif c == quote:
            if sql.startswith(quote * 2, i):  # '' inside a literal is one quote
                i += 2
            else:
                return i + 1
        else:
            i += 1
    raise QueryRejected("unterminated quoted text")


def top_level_clauses(canonical: str) -> list[str]:
    """The first word (or bracket) of each column-0 line of ClickHouse's canonical formatting."""
    clauses = []
    for line in canonical.splitlines():
        if not line or line[0].isspace():
            continue
        m = _WORD.match(line)
        clauses.append(m.group(0).upper() if m else line[0])
    return clauses


def verdict(canonical: str) -> str:
    """The statement to run, given the engine's canonical form of it, or QueryRejected."""
    clauses = top_level_clauses(canonical)
    first = _WORD.search(canonical)  # a union of bracketed SELECTs starts with "(", then its first word
    if not clauses or clauses[0] not in {"(", *_FIRST_WORDS} or not first or first.group(0).upper() not in _FIRST_WORDS:
        raise QueryRejected("only SELECT or WITH … SELECT statements are allowed")
    for clause in clauses:
        if clause in _FORBIDDEN_CLAUSES:
            raise QueryRejected(f"{_FORBIDDEN_CLAUSES[clause]} is not allowed in an analytics query")
        if clause not in _READ_CLAUSES and clause not in "()":
            raise QueryRejected(f"a {clause} clause is not allowed in an analytics query")
    return canonical


def check_select(sql: str, canonical: Formatter) -> str:
    """The statement to run for the analyst's text `sql`, or QueryRejected saying why not."""
    formatted = canonical(prefilter(sql))
    if canonical(formatted) != formatted:  # the text that runs must read back as the text checked
        raise QueryRejected("the statement does not have a stable reading; simplify it")
    return verdict(formatted)
