"""The real sink process, except that it SIGKILLs itself after its first insert, before committing offsets.

This is the worst moment to die: ClickHouse has the rows, Kafka does not know it. The restarted sink
re-reads them; the test proves nothing is counted twice. Run as `python -m tests.analytics.crashing_sink`.
"""
from __future__ import annotations

import os
import signal
from pathlib import Path

from analytics import ingest, service


def main() -> int:
    marker = Path(os.environ["CARELAY_TEST_CRASH_MARKER"])

    def crash_instead_of_commit(self: ingest.Sink, batch: object) -> None:
        marker.write_text(str(self.stats.rows_inserted))
        os.kill(os.getpid(), signal.SIGKILL)

    ingest.Sink._commit = crash_instead_of_commit  # type: ignore[method-assign]
    return service.main()


if __name__ == "__main__":
    raise SystemExit(main())
