"""`python -m analytics.sink`: the analytics process (analytics.service), by the name it is deployed under.

The sink itself (consume, map, insert, commit) is analytics.ingest.
"""
from __future__ import annotations

from analytics.service import main

if __name__ == "__main__":
    raise SystemExit(main())
