"""Every SQL example in docs/analytics.md passes the analysts' guard and runs read-only."""
from __future__ import annotations

import re
from pathlib import Path

from analytics.http import engine_formatter
from analytics.migrations import migrate
from analytics.sqlguard import check_select
from analytics.store import QueryLimits, open_client, open_readers
from schemas.settings import ClickHouseSettings
from tests.analytics import figures
from tests.analytics.scenario import build

DOC = Path(__file__).resolve().parents[2] / "docs" / "analytics.md"


def test_doc_queries_run_and_return_rows(tmp_path: Path):
    statements = [s for block in re.findall(r"```sql\n(.*?)```", DOC.read_text(), re.S)
                  for s in block.split(";") if s.strip()]
    assert len(statements) >= 9
    ch = ClickHouseSettings(path=str(tmp_path / "chdb"))
    writer = open_client(ch)
    migrate(writer, ch)
    sc = build()
    figures.load(writer, sc)
    readers = open_readers(ch, QueryLimits(10, 1000))
    start, end = figures.window(sc)
    params = {"start": start.strftime("%Y-%m-%d %H:%M:%S"), "end": end.strftime("%Y-%m-%d %H:%M:%S"), "org": ""}
    try:
        for statement in statements:
            assert readers.sql.query(check_select(statement, engine_formatter(readers.parser)), params).rows, statement
    finally:
        readers.close()
        writer.close()
