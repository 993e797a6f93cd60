"""Pure check that an analyst's SQL is one read-only SELECT (or WITH … SELECT) statement.

This is the first of two locks: the analysts' ClickHouse session is also `readonly=1` with execution
and result limits that the query cannot lift. The check exists because readonly alone is not enough
on the embedded engine: it still runs several statements in one call and honours `INTO OUTFILE`.
Where the lexer is unsure, it errs towards seeing more tokens: `#` is not a comment and `/* */`
does not nest, so text ClickHouse might treat as a comment is still inspected here.
"""
from __future__ import annotations

import re

from analytics.exceptions import QueryRejected

MAX_SQL_CHARS = 20_000
_FIRST_WORDS = {"SELECT", "WITH"}
# One statement starting with SELECT/WITH cannot be DDL, so only clauses of a SELECT need refusing:
# INTO (OUTFILE), FORMAT (the server picks the wire format), SETTINGS (readonly refuses them too,
# but a clear message beats ClickHouse's).
_FORBIDDEN_WORDS = {"INTO", "OUTFILE", "FORMAT", "SETTINGS"}
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _tokens(sql: str) -> list[tuple[str, int]]:
    """Words and punctuation outside string literals, quoted identifiers and comments, with offsets."""
    out: list[tuple[str, int]] = []
    i, n = 0, len(sql)
    while i < n:
        c = sql[i]
        if c.isspace():
            i += 1
        elif sql.startswith("--", i):
            end = sql.find("\n", i)
            i = n if end < 0 else end + 1
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            if end < 0:
                raise QueryRejected("unterminated comment")
            i = end + 2
        elif c in "'`\"":
            out.append(("LITERAL", i))
            i = _skip_quoted(sql, i, c)
        else:
            m = _WORD.match(sql, i)
            if m:
                out.append((m.group(0).upper(), i))
                i = m.end()
            else:
                out.append((c, i))
                i += 1
    return out


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


def check_select(sql: str) -> str:
    """Return the statement cut before any trailing semicolon, or raise QueryRejected."""
    if len(sql) > MAX_SQL_CHARS:
        raise QueryRejected(f"statement longer than {MAX_SQL_CHARS} characters")
    if "outfile" in sql.lower():  # blunt on purpose: even inside a literal, refuse rather than guess
        raise QueryRejected("INTO OUTFILE is not allowed")
    located = _tokens(sql)
    end = len(sql)
    while located and located[-1][0] == ";":
        end = located.pop()[1]
    tokens = [tok for tok, _ in located]
    if not tokens:
        raise QueryRejected("empty statement")
    if tokens[0] not in _FIRST_WORDS:
        raise QueryRejected("only SELECT or WITH … SELECT statements are allowed")
    if ";" in tokens:
        raise QueryRejected("only one statement is allowed")
    forbidden = sorted(_FORBIDDEN_WORDS.intersection(tokens))
    if forbidden:
        raise QueryRejected(f"{forbidden[0]} is not allowed in an analytics query")
    return sql[:end].strip()
